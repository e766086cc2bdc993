using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>The code the hijacked thread runs: dlopen(path, flags), dlerror() when that failed
/// (results in r12 and r13), a tgkill of its own thread where memprof reads them (the signal's
/// stop, or the system call's with no signal: see <see cref="RemoteLoaderSignals"/>), then it puts
/// the thread's own signal mask back (memprof runs the load with every signal blocked but the
/// marker: <see cref="RemoteLoaderSignals.LoadMask"/>), restores every general register, the
/// flags and the stack pointer from the frame and jumps back to where the thread was. memprof
/// restores the thread itself at the marker's stop; the stub's own restore is for when memprof
/// dies mid-way: the thread then finishes the load and carries on untraced, its signals
/// unblocked again, instead of returning into a trap that would kill it.</summary>
public static class RemoteLoaderStub
{
    /// <summary>The room the stub needs (its length is a little less).</summary>
    public const int MaxLength = 128;
    public const int TgKill = 234, RtSigprocmask = 14, SigSetmask = 2;

    /// <summary>The general registers in the frame's order, lowest address first, above the
    /// thread's signal mask: the stub sets the mask from the frame's first word and drops it,
    /// pops the registers in this order, then the flags, then the stack pointer.</summary>
    public static readonly string[] SavedOrder =
        ["r15", "r14", "r13", "r12", "r11", "r10", "r9", "r8", "rbp", "rdi", "rsi", "rdx", "rcx", "rbx", "rax"];

    /// <summary>Slots in the frame: the signal mask, the general registers, rflags, rsp.</summary>
    public static int SavedSlots => SavedOrder.Length + 3;

    /// <param name="address">Where the stub is placed in the target.</param>
    /// <param name="dlopen">The function called (dlopen, or any function of two arguments at most for a remote call).</param>
    /// <param name="dlerror">Called when the function returned 0, its result in r13 (0: no such call).</param>
    /// <param name="resumeAt">Where the thread was (the stub's last jump).</param>
    /// <param name="signal">The signal the thread sends itself when done (0: none).</param>
    /// <returns>The code and the address the thread is at when it stops for the marker (just
    /// past the syscall instruction).</returns>
    public static (byte[] Code, ulong Marker) Assemble(ulong address, ulong dlopen, ulong dlerror, ulong resumeAt, int tgid, int tid, int signal)
    {
        var a = new Assembler(64);
        var marker = a.CreateLabel("marker");
        var after = a.CreateLabel("after");
        var resume = a.CreateLabel("resume");
        // rdi (the path) and rsi (the flags) are set by memprof; rsp is 16-byte aligned here.
        a.mov(rax, dlopen);
        a.call(rax);
        a.mov(r12, rax);
        a.xor(r13d, r13d);
        if (dlerror != 0)
        {
            a.test(r12, r12);
            a.jne(marker);
            a.mov(rax, dlerror);
            a.call(rax);
            a.mov(r13, rax);
        }
        a.Label(ref marker);
        a.mov(edi, tgid);
        a.mov(esi, tid);
        a.mov(edx, signal);
        a.mov(eax, TgKill);
        a.syscall();
        a.Label(ref after);
        // rt_sigprocmask(SIG_SETMASK, &frame.mask, NULL, sizeof(sigset_t)); rsp is the frame's base again.
        a.mov(eax, RtSigprocmask);
        a.mov(edi, SigSetmask);
        a.mov(rsi, rsp);
        a.xor(edx, edx);
        a.mov(r10d, 8);
        a.syscall();
        a.pop(rax);
        a.pop(r15); a.pop(r14); a.pop(r13); a.pop(r12); a.pop(r11); a.pop(r10); a.pop(r9); a.pop(r8);
        a.pop(rbp); a.pop(rdi); a.pop(rsi); a.pop(rdx); a.pop(rcx); a.pop(rbx); a.pop(rax);
        a.popfq();
        a.pop(rsp);
        a.jmp(__qword_ptr[resume]);
        a.Label(ref resume);
        a.dq(resumeAt);

        using var stream = new MemoryStream();
        var result = a.Assemble(new StreamCodeWriter(stream), address, BlockEncoderOptions.ReturnNewInstructionOffsets);
        var code = stream.ToArray();
        if (code.Length > MaxLength) throw new InvalidOperationException($"the loader stub is {code.Length} bytes, more than {MaxLength}");
        return (code, result.GetLabelRIP(after));
    }
}
