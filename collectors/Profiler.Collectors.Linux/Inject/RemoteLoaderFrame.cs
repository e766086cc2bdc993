using System.Buffers.Binary;
using System.Text;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>What is written on the hijacked thread's stack for the call, and the registers it
/// runs the stub with.</summary>
/// <param name="Base">The lowest address written, and the stack pointer the stub starts with (16-byte aligned).</param>
/// <param name="Bytes">Written at Base: the thread's signal mask and saved registers (the stub's restore), then the library's path.</param>
public sealed record RemoteLoaderFrame(ulong Base, byte[] Bytes, PtraceRegisters CallRegisters)
{
    /// <summary>The System V ABI lets a function use 128 bytes below its stack pointer without moving it.</summary>
    public const ulong RedZone = 128;
    public const ulong RtldNow = 0x2, RtldNoDelete = 0x1000;
    const ulong DirectionFlag = 1 << 10, TrapFlag = 1 << 8;

    /// <param name="mask">The signals the thread blocks in its own code: the stub sets them back.</param>
    public static RemoteLoaderFrame Build(PtraceRegisters saved, string library, ulong stubAddress, ulong mask)
    {
        byte[] path = [.. Encoding.UTF8.GetBytes(library), 0];
        ulong top = saved.Rsp - RedZone;
        ulong pathAt = (top - (ulong)path.Length) & ~15UL;
        ulong block = (ulong)RemoteLoaderStub.SavedSlots * 8;
        ulong bottom = (pathAt - block) & ~15UL;

        var bytes = new byte[pathAt + (ulong)path.Length - bottom];
        ulong[] values =
        [
            mask, saved.R15, saved.R14, saved.R13, saved.R12, saved.R11, saved.R10, saved.R9, saved.R8,
            saved.Rbp, saved.Rdi, saved.Rsi, saved.Rdx, saved.Rcx, saved.Rbx, saved.Rax, saved.Eflags, saved.Rsp,
        ];
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(i * 8), values[i]);
        path.CopyTo(bytes.AsSpan((int)(pathAt - bottom)));

        var call = saved;
        call.Rip = stubAddress;
        call.Rsp = bottom;
        call.Rdi = pathAt;
        call.Rsi = RtldNow | RtldNoDelete;
        call.OrigRax = PtraceRegisters.NoSystemCall;
        // The ABI wants the direction flag clear at a call; a trap flag would single-step the load.
        call.Eflags &= ~(DirectionFlag | TrapFlag);
        return new RemoteLoaderFrame(bottom, bytes, call);
    }
}
