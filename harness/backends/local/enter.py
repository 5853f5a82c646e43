"""Run one command in a node as the node's own processes run: in its cgroups, its user
namespace (root there is an unprivileged host uid) and every other namespace of its PID 1,
with the bounding capability set of that PID 1.

Nothing of the node runs before the command itself: this helper is the host's Python, started
with -I -S (standard library only, so it starts in ~15 ms), and only the final exec loads a
program from the node's file system, already confined. A node whose /usr/bin/setpriv or
ld.so were replaced gains nothing.

    python3 -I -S enter.py PID CGROUP_DIR... -- ENV... -- ARGV...

The PID 1 of the node lives in its own PID namespace, which a process joins only through its
children: the helper forks once and waits, passing on the exit status.
"""

from __future__ import annotations

import ctypes
import os
import sys

_LIBC = ctypes.CDLL(None, use_errno=True)
_PR_CAPBSET_DROP = 24
# The user namespace first: the others belong to it, and entering them needs its capabilities.
# A namespace it does not own (the router's network, made and cabled by the host) is entered
# before it, while this helper is still host root: from inside, node root could not.
_NAMESPACES = ("user", "cgroup", "ipc", "uts", "net", "pid", "mnt")
_NS_GET_USERNS = 0xB701  # ioctl: the user namespace that owns a namespace (linux/nsfs.h)


def _setns(fd: int, kind: str) -> None:
    if _LIBC.setns(fd, 0) != 0:
        raise OSError(ctypes.get_errno(), f"setns into the node's {kind} namespace")


def _owner(fd: int) -> int:
    """The inode of the user namespace owning namespace `fd`."""
    owner = _LIBC.ioctl(fd, _NS_GET_USERNS)
    if owner < 0:
        raise OSError(ctypes.get_errno(), "reading which user namespace owns a namespace of the node")
    try:
        return os.fstat(owner).st_ino
    finally:
        os.close(owner)


def _bounding_set(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("CapBnd:"):
                return int(line.split()[1], 16)
    raise OSError(f"no CapBnd for process {pid}")


def enter(pid: int, cgroups: list[str], env: list[str], argv: list[str]) -> int:
    for directory in cgroups:
        with open(os.path.join(directory, "cgroup.procs"), "w") as procs:
            procs.write(str(os.getpid()))
    keep = _bounding_set(pid)
    with open("/proc/sys/kernel/cap_last_cap") as last:
        last_cap = int(last.read())
    fds = [(os.open(f"/proc/{pid}/ns/{kind}", os.O_RDONLY | os.O_CLOEXEC), kind) for kind in _NAMESPACES]
    user = os.fstat(fds[0][0]).st_ino
    fds.sort(key=lambda entry: 1 if entry[1] == "user" else 2 if _owner(entry[0]) == user else 0)
    for fd, kind in fds:
        _setns(fd, kind)
        os.close(fd)
    os.setgroups([])
    os.setresgid(0, 0, 0)
    os.setresuid(0, 0, 0)
    for cap in range(last_cap + 1):
        if not keep >> cap & 1 and _LIBC.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), f"dropping capability {cap} from the bounding set")
    os.chdir("/")
    environment = dict(item.split("=", 1) for item in env)
    child = os.fork()
    if child == 0:
        _exec(argv, environment)
    _, status = os.waitpid(child, 0)
    return 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def _exec(argv: list[str], environment: dict[str, str]) -> None:
    """execvpe by hand: past the node's mount namespace the host's standard library is out of
    sight, and os.execvpe imports a module lazily."""
    candidates = [argv[0]] if "/" in argv[0] else [f"{d}/{argv[0]}" for d in environment.get("PATH", "").split(":")]
    error = "not found"
    for candidate in candidates:
        try:
            os.execve(candidate, argv, environment)
        except FileNotFoundError:
            continue
        except OSError as failed:
            error = failed.strerror
    os.write(2, f"{argv[0]}: {error}\n".encode())
    os._exit(127)


def main(args: list[str]) -> int:
    first = args.index("--")
    second = args.index("--", first + 1)
    pid, cgroups = int(args[0]), args[1:first]
    try:
        return enter(pid, cgroups, args[first + 1:second], args[second + 1:])
    except OSError as error:
        print(f"halab could not enter the node: {error}", file=sys.stderr)
        return 125


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
