using System.Globalization;
using Profiler.Collectors.Linux.Procfs;
using Profiler.Symbols.Elf;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>What the remote loader reads about the target besides ptrace: /proc and its files.</summary>
public interface IRemoteLoaderTarget
{
    IReadOnlyList<MapEntry> Maps(int pid);
    string Executable(int pid);
    IReadOnlyList<RemoteLoaderThread> Threads(int pid);
    /// <summary>The thread's blocked, ignored, caught and pending signals, or null when it is gone.</summary>
    RemoteLoaderSignalState? Signals(int pid, int tid);
    int TracerOf(int pid, int tid);
    int? YamaScope();
    /// <summary>Seccomp in /proc/PID/status: 0 none, 1 strict, 2 filter.</summary>
    int SeccompMode(int pid);
    bool Privileged();
    /// <summary>/proc/PID/task/TID/syscall: the system call the thread is blocked in, or null when it cannot be read.</summary>
    string? SystemCall(int pid, int tid);
    /// <summary>/proc/PID/task/TID/wchan: the kernel function the thread sleeps in.</summary>
    string? WaitChannel(int pid, int tid);
    /// <summary>Sends the thread a signal (tgkill); 0 or an errno.</summary>
    int Kick(int pid, int tid, int signal);
    /// <summary>The mapped files the planner needs, described from their ELF headers and symbols.</summary>
    IReadOnlyList<RemoteLoaderModule> Modules(int pid, IReadOnlyList<MapEntry> maps);
}

/// <summary>The target as /proc shows it; its files are read through /proc/PID/root, so a
/// process in another mount namespace (a container) is described from its own files.</summary>
public sealed class ProcfsRemoteLoaderTarget : IRemoteLoaderTarget
{
    public IReadOnlyList<MapEntry> Maps(int pid) => ProcMaps.Read(pid);

    public string Executable(int pid) => ProcessState.ExecutablePath(pid);

    public IReadOnlyList<RemoteLoaderThread> Threads(int pid)
    {
        var threads = new List<RemoteLoaderThread>();
        string[] tasks;
        try { tasks = Directory.GetDirectories($"/proc/{pid}/task"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return threads; }
        foreach (var task in tasks)
        {
            if (!int.TryParse(Path.GetFileName(task), out int tid)) continue;
            if (Read($"{task}/stat") is { } stat && RemoteLoaderThreads.Parse(tid, stat) is { } thread) threads.Add(thread);
        }
        return threads;
    }

    public RemoteLoaderSignalState? Signals(int pid, int tid)
    {
        ulong? Mask(string name) => StatusField(pid, tid, name) is { } hex && ulong.TryParse(hex, NumberStyles.HexNumber, null, out var mask) ? mask : null;
        return Mask("SigBlk") is { } blocked && Mask("SigIgn") is { } ignored && Mask("SigCgt") is { } caught && Mask("SigPnd") is { } pending
            ? new RemoteLoaderSignalState(blocked, ignored, caught, pending)
            : null;
    }

    public int TracerOf(int pid, int tid) =>
        StatusField(pid, tid, "TracerPid") is { } text && int.TryParse(text, out var tracer) ? tracer : 0;

    public int? YamaScope() =>
        Read("/proc/sys/kernel/yama/ptrace_scope") is { } text && int.TryParse(text.Trim(), out var scope) ? scope : null;

    public int SeccompMode(int pid) =>
        StatusField(pid, pid, "Seccomp") is { } text && int.TryParse(text, out var mode) ? mode : 0;

    public bool Privileged() => Native.GetEuid() == 0;

    public string? SystemCall(int pid, int tid) => Read($"/proc/{pid}/task/{tid}/syscall");

    public string? WaitChannel(int pid, int tid) => Read($"/proc/{pid}/task/{tid}/wchan");

    public int Kick(int pid, int tid, int signal) =>
        Native.TgKill(pid, tid, signal) == 0 ? 0 : System.Runtime.InteropServices.Marshal.GetLastPInvokeError();

    public IReadOnlyList<RemoteLoaderModule> Modules(int pid, IReadOnlyList<MapEntry> maps)
    {
        var modules = new List<RemoteLoaderModule>();
        foreach (var first in maps.Where(m => m.IsFile && m.FileOffset == 0).DistinctBy(m => m.Path))
        {
            if (!maps.Any(m => m.Path == first.Path && m.IsExecutable)) continue;
            string file = File.Exists($"/proc/{pid}/root{first.Path}") ? $"/proc/{pid}/root{first.Path}" : first.Path;
            if (!ElfFile.TryOpen(file, out var elf, out _)) continue;
            using (elf)
            {
                var module = RemoteLoaderModule.From(first.Path, first.Start, (ulong)new FileInfo(file).Length, elf.Machine, elf.LoadSegments, elf.ReadSymbols(),
                    (offset, length) => ReadAt(file, offset, length));
                if (module is not null) modules.Add(module);
            }
        }
        return modules;
    }

    static byte[]? ReadAt(string file, ulong offset, int length)
    {
        try
        {
            using var stream = File.OpenRead(file);
            stream.Position = (long)offset;
            var bytes = new byte[length];
            return stream.ReadAtLeast(bytes, length, throwOnEndOfStream: false) == length ? bytes : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    static string? StatusField(int pid, int tid, string name)
    {
        if (Read($"/proc/{pid}/task/{tid}/status") is not { } status) return null;
        foreach (var line in status.Split('\n'))
            if (line.StartsWith(name + ":", StringComparison.Ordinal))
                return line[(name.Length + 1)..].Trim();
        return null;
    }

    static string? Read(string path)
    {
        try { return File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }
}
