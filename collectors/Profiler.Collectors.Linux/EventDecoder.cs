using System.Runtime.InteropServices;
using Profiler.Collectors.Linux.Bpf;

namespace Profiler.Collectors.Linux;

/// <summary>Turns one ring-buffer record into the header and the user stack, leaf first.</summary>
public static class EventDecoder
{
    public static bool TryDecode(ReadOnlySpan<byte> record, out BpfEventHeader header, Span<ulong> stackBuffer, out int frames) =>
        TryDecode(record, out header, stackBuffer, out frames, out _);

    /// <param name="stackCopy">The user stack copied from header.Sp, when the sample carries one.</param>
    public static bool TryDecode(ReadOnlySpan<byte> record, out BpfEventHeader header, Span<ulong> stackBuffer, out int frames,
        out ReadOnlySpan<byte> stackCopy)
    {
        frames = 0;
        header = default;
        stackCopy = default;
        if (record.Length < BpfEventHeader.Size_) return false;
        header = MemoryMarshal.Read<BpfEventHeader>(record);
        int captured = Math.Min((int)header.FrameCount, (record.Length - BpfEventHeader.Size_) / 8);
        captured = Math.Min(captured, BpfEventHeader.MaxFrames);
        var raw = MemoryMarshal.Cast<byte, ulong>(record.Slice(BpfEventHeader.Size_, captured * 8));
        frames = RestoreCaller(raw, header.Caller, stackBuffer);
        int copyStart = BpfEventHeader.Size_ + captured * 8;
        int copied = (int)Math.Min(header.StackLength, (uint)Math.Max(0, record.Length - copyStart));
        stackCopy = record.Slice(copyStart, copied);
        return true;
    }

    /// <summary>
    /// At a probe placed before the function's frame is set up, a frame-pointer walk skips the
    /// direct caller: the walk starts from the caller's frame pointer, whose slot holds the
    /// caller's own return address. The probe read the real return address from the stack;
    /// put it back after the leaf unless the kernel already did (kernels ≥ 6.11 do at push %rbp).
    /// </summary>
    public static int RestoreCaller(ReadOnlySpan<ulong> raw, ulong caller, Span<ulong> output)
    {
        if (raw.Length == 0) return 0;
        int n = 0;
        output[n++] = raw[0];
        if (caller != 0 && (raw.Length < 2 || raw[1] != caller) && output.Length > raw.Length)
            output[n++] = caller;
        for (int i = 1; i < raw.Length && n < output.Length; i++)
            output[n++] = raw[i];
        return n;
    }
}
