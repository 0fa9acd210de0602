"""Errors are errors: a failing payload command is exit 3 with its status and stderr."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration import helpers
from tests.integration.helpers import joinstall

pytestmark = pytest.mark.integration


@pytest.mark.timeout(60)
@pytest.mark.parametrize("variant", ["buggy", "fixed", "pipe", "executor"])
def test_a_failing_payload_command_is_exit_3_with_its_status_and_stderr(tmp_path: Path, variant: str) -> None:
    shell = tmp_path / "broken-shell"
    shell.write_text("#!/bin/sh\necho 'broken-shell: cannot run the payload' >&2\nexit 7\n")
    shell.chmod(0o755)
    done = joinstall("run", "--size", "100000", "--variant", variant, "--shell", str(shell), "--timeout", "5")
    assert done.returncode == 3, done.stdout + done.stderr
    verdict = helpers.verdict(done.stdout)
    assert all(len(line) <= 100 for line in done.stdout.splitlines())
    assert "error" in verdict and "status 7" in verdict and "cannot run the payload" in verdict
    assert "data loss" not in done.stdout and "sha256" not in verdict


@pytest.mark.timeout(60)
def test_bin_false_as_the_shell_is_not_data_loss() -> None:
    done = joinstall("run", "--size", "1000", "--shell", "/bin/false", "--json")
    assert done.returncode == 3, done.stdout + done.stderr
    assert '"verdict": "error"' in done.stdout
