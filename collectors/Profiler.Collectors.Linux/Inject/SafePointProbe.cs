using System.Runtime.InteropServices;
using System.Text;
using Profiler.Collectors.Linux.Bpf;
using Profiler.Core;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>Catches a safe point with a uprobe instead of debug registers: the probe's program
/// signals one watched thread at an allocator's entry, and the loader, tracing that thread, sees
/// the signal's delivery stop there. Everything it holds lives in this process's file
/// descriptors: if the loader dies, the kernel removes the probe, lets the threads go, and the
/// marker signal (ignored by default, caught by nobody) is dropped. Nothing is left that could
/// hurt the target.</summary>
public interface ISafePointProbe : IDisposable
{
    /// <summary>Lets the probe signal this thread.</summary>
    void Watch(int tid);
    /// <summary>Lets the probe send <paramref name="signal"/> once, to the first watched thread that gets there.</summary>
    void Open(int signal);
    /// <summary>Takes back an opening not used yet.</summary>
    void Close();
}

/// <summary>The probe for real: two maps, the program, one uprobe_multi link (kernel ≥ 6.6).</summary>
public sealed unsafe partial class SafePointProbe : ISafePointProbe
{
    const long SysBpf = 321;
    const int MapCreate = 0, MapUpdate = 2, ProgLoad = 5;
    const int HashMap = 1, ArrayMap = 2, KprobeProgram = 2;

    readonly int _threads, _gate, _program, _link;

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, long command, void* attr, long size);

    /// <param name="path">The allocator's file, as this process sees it.</param>
    /// <param name="offsets">File offsets of the entries to probe.</param>
    SafePointProbe(int pid, string path, IReadOnlyList<ulong> offsets)
    {
        _threads = _gate = _program = _link = -1;
        try
        {
            _threads = CreateMap(HashMap, 1024);
            _gate = CreateMap(ArrayMap, 1);
            _program = LoadProgram(SafePointProgram.Assemble(_threads, _gate));
            _link = UprobeMulti.Create(_program, pid, path, offsets.ToArray(), new ulong[offsets.Count], isReturn: false);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The probe, or why none can be made (one line).</summary>
    public static (ISafePointProbe? Probe, string? Failure) Create(int pid, string path, IReadOnlyList<ulong> offsets)
    {
        if (!UprobeMulti.Supported)
            return (null, $"catching a safe point needs uprobe_multi links (Linux 6.6 or later; this is {Environment.OSVersion.Version})");
        Native.RaiseMemlockLimit();
        try { return (new SafePointProbe(pid, path, offsets), null); }
        catch (ProfilerException e) { return (null, e.Message); }
    }

    public void Watch(int tid) => Update(_threads, (uint)tid, 1);

    public void Open(int signal) => Update(_gate, 0, (uint)signal);

    public void Close() => Update(_gate, 0, 0);

    public void Dispose()
    {
        foreach (int fd in new[] { _link, _program, _gate, _threads })
            if (fd >= 0) UprobeMulti.Close(fd);
    }

    static int CreateMap(int type, uint entries)
    {
        var attr = stackalloc byte[72];
        new Span<byte>(attr, 72).Clear();
        *(uint*)(attr + 0) = (uint)type;
        *(uint*)(attr + 4) = 4;
        *(uint*)(attr + 8) = 4;
        *(uint*)(attr + 12) = entries;
        return (int)Check(Syscall(SysBpf, MapCreate, attr, 72), "create the safe point's BPF maps");
    }

    static int LoadProgram(byte[] instructions)
    {
        var license = Encoding.ASCII.GetBytes("GPL\0");
        var log = new byte[1 << 16];
        var attr = stackalloc byte[128];
        new Span<byte>(attr, 128).Clear();
        fixed (byte* code = instructions)
        fixed (byte* gpl = license)
        fixed (byte* logBuffer = log)
        {
            *(uint*)(attr + 0) = KprobeProgram;
            *(uint*)(attr + 4) = (uint)(instructions.Length / 8);
            *(ulong*)(attr + 8) = (ulong)code;
            *(ulong*)(attr + 16) = (ulong)gpl;
            *(uint*)(attr + 24) = 1;
            *(uint*)(attr + 28) = (uint)log.Length;
            *(ulong*)(attr + 32) = (ulong)logBuffer;
            *(uint*)(attr + 68) = UprobeMulti.AttachType;
            long fd = Syscall(SysBpf, ProgLoad, attr, 128);
            if (fd >= 0) return (int)fd;
            int errno = Marshal.GetLastPInvokeError();
            string verifier = Encoding.ASCII.GetString(log).TrimEnd('\0').Trim().Split('\n').LastOrDefault() ?? "";
            throw new ProfilerException(ExitCode.CollectorFailed, $"cannot load the safe point's BPF program: {Native.ErrorText(errno)}{(verifier.Length > 0 ? $" ({verifier})" : "")}");
        }
    }

    static void Update(int map, uint key, uint value)
    {
        var attr = stackalloc byte[32];
        new Span<byte>(attr, 32).Clear();
        *(uint*)(attr + 0) = (uint)map;
        *(ulong*)(attr + 8) = (ulong)&key;
        *(ulong*)(attr + 16) = (ulong)&value;
        Check(Syscall(SysBpf, MapUpdate, attr, 32), "update the safe point's BPF maps");
    }

    static long Check(long result, string what)
    {
        if (result >= 0) return result;
        int errno = Marshal.GetLastPInvokeError();
        throw new ProfilerException(ExitCode.CollectorFailed, $"cannot {what}: {Native.ErrorText(errno)}");
    }
}
