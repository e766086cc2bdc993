using System.Runtime.InteropServices;
using Profiler.Collectors.Linux.Bpf;

namespace Profiler.Tests.Collector.Session;

/// <summary>Ring-buffer records as the BPF programs write them: a memprof_event, then the
/// frame-pointer stack.</summary>
static class KernelRecord
{
    public static byte[] Make(BpfFunction function, int pid, int tid = 0, ulong address = 0, ulong size = 0, ulong oldAddress = 0,
        ulong sequence = 0, uint flags = 0, ulong[]? frames = null, string comm = "app", ulong time = 2_000_000, ulong caller = 0)
    {
        frames ??= [];
        var header = new BpfEventHeader
        {
            TimeNanos = time, Pid = (uint)pid, Tid = (uint)(tid == 0 ? pid : tid), Address = address, OldAddress = oldAddress,
            Size = size, Sequence = sequence, Function = (uint)function, Flags = flags, FrameCount = (uint)frames.Length, Caller = caller,
        };
        var name = System.Text.Encoding.UTF8.GetBytes(comm);
        name.AsSpan(0, Math.Min(name.Length, 15)).CopyTo(header.Comm);
        var bytes = new byte[BpfEventHeader.Size_ + frames.Length * 8];
        MemoryMarshal.Write(bytes, header);
        MemoryMarshal.AsBytes(frames.AsSpan()).CopyTo(bytes.AsSpan(BpfEventHeader.Size_));
        return bytes;
    }

    /// <summary>The stack an allocation's entry captured, sent before the allocation itself.</summary>
    public static byte[] Stack(int pid, int tid, ulong sequence, params ulong[] frames) =>
        Make(BpfFunction.Stack, pid, tid, sequence: sequence, frames: frames, flags: BpfEventHeader.StackComplete);

    public static byte[] Malloc(int pid, int tid, ulong address, ulong size, ulong sequence, ulong[]? frames = null, ulong time = 2_000_000) =>
        Make(BpfFunction.Malloc, pid, tid, address, size, sequence: sequence, flags: BpfEventHeader.NewSampled, frames: frames, time: time);

    public static byte[] Fork(int parent, int child) => Make(BpfFunction.Fork, child, oldAddress: (ulong)parent);
    public static byte[] Exec(int pid, string comm, ulong time = 2_000_000) => Make(BpfFunction.Exec, pid, comm: comm, time: time);
    public static byte[] Exited(int pid, int waitStatus) => Make(BpfFunction.ProcessExit, pid, size: (ulong)waitStatus);
}
