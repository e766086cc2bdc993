namespace Profiler.Collectors.Linux.Inject;

/// <summary>The one-line reasons the remote loader gives when it cannot load the library.</summary>
public static class RemoteLoaderReasons
{
    public const int EPERM = 1, ESRCH = 3;

    /// <param name="yamaScope">kernel.yama.ptrace_scope, or null without Yama.</param>
    /// <param name="tracerPid">TracerPid of the thread (0: none).</param>
    /// <param name="privileged">memprof runs with CAP_SYS_PTRACE (as root).</param>
    public static string PtraceRefused(int pid, int errno, string errnoText, int? yamaScope, int tracerPid, bool privileged)
    {
        if (errno == ESRCH) return Gone(pid);
        if (tracerPid != 0) return $"process {pid} is already traced by process {tracerPid} (a debugger?)";
        if (errno != EPERM) return $"ptrace refused to attach to process {pid}: {errnoText}";
        return yamaScope switch
        {
            3 => $"ptrace is disabled on this system (kernel.yama.ptrace_scope = 3)",
            2 when !privileged => $"ptrace needs CAP_SYS_PTRACE here (kernel.yama.ptrace_scope = 2): run memprof as root",
            1 when !privileged => $"ptrace may only trace descendants here (kernel.yama.ptrace_scope = 1): run memprof as root or set the sysctl to 0",
            _ when !privileged => $"ptrace refused to attach to process {pid}: it belongs to another user or is not dumpable; run memprof as root",
            _ => $"ptrace refused to attach to process {pid} (a seccomp filter or a security module forbids it)",
        };
    }

    public static string NoMarkerSignal(int pid) =>
        $"process {pid} catches SIGURG, SIGWINCH and SIGCHLD and ignores no other signal: no signal can mark a safe point harmlessly";

    public static string Gone(int pid) => $"process {pid} is gone";

    /// <summary>Why a process under seccomp is not loaded into, or null when it may be.</summary>
    public static string? Seccomp(int pid, int mode, bool allowFilter) => mode switch
    {
        1 => $"process {pid} runs in seccomp's strict mode: it may make no system call a load needs",
        2 when !allowFilter => $"process {pid} runs under a seccomp filter: a system call of the load it forbids could kill it",
        _ => null,
    };

    public static string NoSafePoint(int pid, TimeSpan bound, int watched, IReadOnlyCollection<string> rejected)
    {
        string line = $"no thread of process {pid} reached an allocator's entry or a waiting call at a safe point within {bound.TotalSeconds:0.#} s ({watched} thread{(watched == 1 ? "" : "s")} watched";
        return rejected.Count == 0 ? line + ")" : line + $"; {rejected.Count} rejected, last: {rejected.Last()})";
    }
}
