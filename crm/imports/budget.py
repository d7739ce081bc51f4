"""Reading an upload in a child process with its own memory, CPU and wall-clock limits.

The checks of the reader bound what each known kind of bomb costs; this bounds everything else (a
parser path nobody thought of): whatever the file, reading it costs the server at most
MEMORY_BUDGET of memory and WALL_SECONDS of time, and a breach is a Chinese refusal, not a 500 or
a worker killed by the OOM killer.

The child is a plain os.fork() (Linux), not multiprocessing: nothing is pickled or re-imported, and
it behaves the same under pytest, `flask run` (a request thread forks; the child has only that
thread) and gunicorn sync workers (the worker forks and reaps; the child never returns to gunicorn's
loop). Its cost is the fork, which copies the parent's page tables: about 15 ms for a parent of the
app's size and 30 ms for the bench's bigger one, on the (slow, shared) development VM; spawning a
fresh interpreter instead would cost ten times that. Measured by `python -m bench.upload_bombs`.
The child
- closes every descriptor it inherited but stdin/out/err and its pipe, so it cannot touch the
  database (closing a copied socket does not close the parent's connection), nor a listening socket;
- sets RLIMIT_AS (its size at fork plus the budget: address space it may add), RLIMIT_CPU and
  RLIMIT_CORE, and turns off the cyclic garbage collector (it lives a second; nothing it inherited is
  collected and finalised in it);
- sends its result back through the pipe (marshal: only str, int and lists of them) and leaves by
  os._exit, so no atexit handler, finaliser or buffered output of the parent runs twice.
The parent waits on the pipe until the wall-clock deadline, then kills the child and reaps it.
Everything the child uses is imported at the top of the modules it runs (an import inside the child
could wait on a lock another thread of the parent held when it forked).
"""

import gc
import marshal
import os
import resource
import select
import signal
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from crm.core.transaction import Refusal
from crm.imports.limits import CPU_SECONDS, MAX_RESULT_BYTES, MB, MEMORY_BUDGET, WALL_SECONDS

_LENGTH = struct.Struct("<Q")
_KB = 1024


def _over_memory(memory: int) -> str:
    return (
        f"读取该文件所需的内存超过上限（{memory // MB} MB），文件可能过于复杂或被恶意构造；"
        "请删除无关的内容、分批导入，或另存为 CSV 后再导入"
    )


def _over_time(seconds: float) -> str:
    return (
        f"读取该文件超过了时间上限（{seconds:g} 秒），文件可能过于复杂或被恶意构造；"
        "请删除无关的内容、分批导入，或另存为 CSV 后再导入"
    )


FAILED = "读取该文件时出错，请在 Excel 中另存为 .xlsx 或 CSV 后重试"
BUSY = "服务器暂时无法读取文件，请稍后重试"


@dataclass
class Outcome:
    """What running a function in the child gave, and what it cost."""

    value: object = None
    refusal: str | None = None  # the Chinese message of a Refusal in the child, or of a breached limit
    error: str | None = None  # an unexpected exception in the child, for the log
    seconds: float = 0.0  # wall clock, fork to reaping
    added_memory: int = 0  # bytes of address space the child added at most (what RLIMIT_AS bounds)
    added_resident: int = 0  # bytes of resident memory the child added at most (peak RSS growth)


def _memory() -> tuple[int, int, int, int]:
    """(VmSize, VmRSS, VmPeak, VmHWM) of this process, in bytes."""
    found = {}
    with open("/proc/self/status", "rb") as status:
        for line in status:
            key, _, value = line.partition(b":")
            if key in (b"VmSize", b"VmRSS", b"VmPeak", b"VmHWM"):
                found[key] = int(value.split()[0]) * _KB
    return found[b"VmSize"], found[b"VmRSS"], found[b"VmPeak"], found[b"VmHWM"]


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _child(write_fd: int, function: Callable, args: tuple, memory: int, cpu_seconds: float) -> None:
    """The forked child: never returns."""
    try:
        os.closerange(3, write_fd)
        os.closerange(write_fd + 1, max(os.sysconf("SC_OPEN_MAX"), 1024))
        gc.disable()
        size, resident, _, _ = _memory()
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_AS, (size + memory, size + memory))
        cpu = max(1, int(cpu_seconds + 0.999))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        try:
            result = ("ok", function(*args), None)
        except Refusal as refusal:
            result = ("refused", str(refusal), None)
        except MemoryError:
            result = ("memory", None, None)
        except Exception as error:  # a bug or an unforeseen file: logged by the parent
            result = ("error", None, f"{type(error).__name__}: {error}"[:2000])
        _, _, peak, high = _memory()
        costs = (peak - size, high - resident)
        try:
            payload = marshal.dumps((result, costs))
        except MemoryError:
            result = None
            payload = marshal.dumps((("memory", None, None), costs))
        _write_all(write_fd, _LENGTH.pack(len(payload)) + payload)
    except BaseException:  # noqa: B036 — whatever happens, the child must not go back to the caller
        pass
    finally:
        os._exit(0)


def _receive(read_fd: int, deadline: float) -> tuple[bytes | None, str]:
    """The child's payload, or None and why: "late" (the deadline passed), "large" (it announced
    more than MAX_RESULT_BYTES), "silent" (it ended without sending all of it)."""
    poller = select.poll()
    poller.register(read_fd, select.POLLIN)
    buffer = bytearray()
    wanted = _LENGTH.size
    header = True
    while len(buffer) < wanted:
        left = deadline - time.monotonic()
        if left <= 0 or not poller.poll(left * 1000):
            return None, "late"
        chunk = os.read(read_fd, min(wanted - len(buffer), 1 * MB))
        if not chunk:
            return None, "silent"
        buffer += chunk
        if header and len(buffer) == wanted:
            (length,) = _LENGTH.unpack(buffer)
            if length > MAX_RESULT_BYTES:
                return None, "large"
            header = False
            buffer = bytearray()
            wanted = length
    return bytes(buffer), ""


def run_bounded(
    function: Callable,
    *args,
    memory: int = MEMORY_BUDGET,
    cpu_seconds: float = CPU_SECONDS,
    wall_seconds: float = WALL_SECONDS,
) -> Outcome:
    """function(*args) in a child process within the limits. Its value must be marshal-able; a
    Refusal it raises comes back as `refusal` (its message), and so does a breached limit."""
    started = time.monotonic()
    read_fd, write_fd = os.pipe()
    try:
        pid = os.fork()
    except OSError as error:  # no process to spare (EAGAIN, ENOMEM): a refusal, not a 500
        os.close(read_fd)
        os.close(write_fd)
        return Outcome(refusal=BUSY, error=f"fork: {error}")
    if pid == 0:
        os.close(read_fd)
        _child(write_fd, function, args, memory, cpu_seconds)
    os.close(write_fd)
    payload, why = None, "silent"
    try:
        payload, why = _receive(read_fd, started + wall_seconds)
    finally:
        os.close(read_fd)
        if payload is None:
            try:
                os.kill(pid, signal.SIGKILL)  # not reaped yet, so the pid is still the child's
            except ProcessLookupError:  # reaped already, where SIGCHLD is ignored
                pass
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:  # SIGCHLD ignored: the child was reaped for us
            status = 0
    outcome = Outcome(seconds=time.monotonic() - started)
    if payload is None:
        died_of = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        if why == "late" or died_of == signal.SIGXCPU:
            outcome.refusal = _over_time(wall_seconds if why == "late" else cpu_seconds)
        elif why == "large" or died_of == signal.SIGKILL:  # killed by us, or by the OOM killer
            outcome.refusal = _over_memory(memory)
        else:
            outcome.refusal = FAILED
            outcome.error = f"the reading child ended without a result (status {status})"
        return outcome
    (kind, value, error), (outcome.added_memory, outcome.added_resident) = marshal.loads(payload)
    if kind == "ok":
        outcome.value = value
    elif kind == "refused":
        outcome.refusal = value
    elif kind == "memory":
        outcome.refusal = _over_memory(memory)
    else:
        outcome.refusal = FAILED
        outcome.error = error
    return outcome
