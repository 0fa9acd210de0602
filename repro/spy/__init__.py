"""py-spy on a process tree: running it, reading its stacks, and naming what each thread does.

* ``pyspy``   running ``py-spy dump`` on one process, bounded in time, with a fix for each failure;
* ``stacks``  py-spy's JSON parsed into typed threads and frames, and rendered as text;
* ``labels``  what each thread does in the terms of the join-before-get family, from its frames.

The engine (``joinstall.engine``) proves a hang without any of this; py-spy only names it.
"""
