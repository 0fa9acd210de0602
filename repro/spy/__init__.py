"""py-spy on a hung tree, and the wait-for cycle that explains the hang.

One concept per module, in the order data flows:

* ``stacks``   py-spy's JSON parsed into typed threads and frames, and rendered as text;
* ``labels``   what each thread is doing, in the terms of the join-before-get stall;
* ``pyspy``    running py-spy on one process, bounded in time, with a fix for each failure;
* ``roles``    parent, child, forkserver, resource tracker: a word for each process;
* ``graph``    the wait-for graph's nodes and edges, and the cycle in it;
* ``waits``    building that graph from one /proc snapshot and py-spy's labels;
* ``words``    edges and cycles in plain words;
* ``capture``  all of the above on a proven stall, as one JSON-ready result;
* ``text``     that result as the lines a user reads;
* ``target``   ``joinstall spy --pid``: check a tree joinstall did not start, prove, capture.
"""
