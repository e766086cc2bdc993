using System.Buffers.Binary;
using Iced.Intel;
using Profiler.Collectors.Linux.Inject;

namespace Profiler.Tests.Collector.Inject;

/// <summary>The stub and its frame agree: decoded by Iced, the stub calls dlopen with the
/// frame's path and flags on an aligned stack, calls dlerror only on failure, sends the marker,
/// and its tail, run over the frame's bytes, gives back every register as it was and jumps
/// back to where the thread was.</summary>
public sealed class RemoteLoaderStubTests
{
    const ulong StubAt = 0x7f00_0012_3ff0, DlOpen = 0x7f00_0010_5500, DlError = 0x7f00_0010_4d10, Resume = 0x7f00_0010_8930;

    static PtraceRegisters Thread()
    {
        var r = new PtraceRegisters
        {
            R15 = 15, R14 = 14, R13 = 13, R12 = 12, Rbp = 0x7ffd_0000_1000, Rbx = 3, R11 = 11, R10 = 10, R9 = 9, R8 = 8,
            Rax = 0xAA, Rcx = 0xCC, Rdx = 0xDD, Rsi = 0x5151, Rdi = 4096, OrigRax = PtraceRegisters.NoSystemCall,
            Rip = Resume, Eflags = 0x10246 | (1 << 10), Rsp = 0x7ffd_0000_2ee8, FsBase = 0x7f00_0000_0740,
        };
        return r;
    }

    static List<Instruction> Decode(byte[] code, ulong at)
    {
        var decoder = Decoder.Create(64, new ByteArrayCodeReader(code), at);
        var list = new List<Instruction>();
        while (decoder.IP < at + (ulong)code.Length) list.Add(decoder.Decode());
        return list;
    }

    [Fact]
    public void The_frame_lies_below_the_red_zone_and_the_stub_starts_on_an_aligned_stack()
    {
        var saved = Thread();
        var frame = RemoteLoaderFrame.Build(saved, "/opt/lib/libx.so", StubAt, mask: 0);

        Assert.Equal(0UL, frame.Base % 16);
        Assert.True(frame.Base + (ulong)frame.Bytes.Length <= saved.Rsp - RemoteLoaderFrame.RedZone);
        var call = frame.CallRegisters;
        Assert.Equal((StubAt, frame.Base), (call.Rip, call.Rsp));
        Assert.Equal(RemoteLoaderFrame.RtldNow | RemoteLoaderFrame.RtldNoDelete, call.Rsi);
        Assert.Equal("/opt/lib/libx.so\0", System.Text.Encoding.UTF8.GetString(frame.Bytes, (int)(call.Rdi - frame.Base), 17));
        Assert.Equal(PtraceRegisters.NoSystemCall, call.OrigRax);
        Assert.Equal(0UL, call.Eflags & (1 << 10)); // direction flag clear, as a call requires
        Assert.Equal(saved.FsBase, call.FsBase);     // same thread: its TLS stays
    }

    [Fact]
    public void The_stub_calls_dlopen_then_dlerror_only_when_it_failed_and_stops_past_the_marker()
    {
        var (code, marker) = RemoteLoaderStub.Assemble(StubAt, DlOpen, DlError, Resume, tgid: 4000, tid: 4007, signal: 23);
        var text = Decode(code, StubAt);

        Assert.True(code.Length <= RemoteLoaderStub.MaxLength);
        Assert.Equal($"mov rax,{DlOpen:X}h", Format(text[0]));
        Assert.Equal("call rax", Format(text[1]));
        Assert.Equal("mov r12,rax", Format(text[2]));
        var skip = text.Single(i => i.Mnemonic == Mnemonic.Jne);
        Assert.Equal($"mov rax,{DlError:X}h", Format(text[text.IndexOf(skip) + 1]));
        // The first system call is the marker's; the second sets the signal mask back.
        var syscall = text.First(i => i.Mnemonic == Mnemonic.Syscall);
        // The failure path skips to the marker's set-up: edi, esi, edx and eax are tgkill(4000, 4007, 23).
        var setup = text.SkipWhile(i => i.IP != skip.NearBranchTarget).TakeWhile(i => i.Mnemonic != Mnemonic.Syscall).Select(Format).ToList();
        Assert.Equal(["mov edi,0FA0h", "mov esi,0FA7h", "mov edx,17h", "mov eax,0EAh"], setup);
        Assert.Equal(syscall.NextIP, marker);
    }

    [Fact]
    public void The_stub_s_tail_restores_the_signal_mask_and_every_register_from_the_frame_and_jumps_back()
    {
        const ulong Mask = 0x8000_0000_0000_4001; // SIGHUP, SIGALRM (15) and signal 64 blocked
        var saved = Thread();
        var frame = RemoteLoaderFrame.Build(saved, "/lib/libmemprof_preload.so", StubAt, Mask);
        var (code, marker) = RemoteLoaderStub.Assemble(StubAt, DlOpen, DlError, saved.Rip, 1, 1, 0);

        // Run the instructions after the marker over the frame's bytes, from rsp = frame base
        // (the calls before are balanced, so that is where rsp is again).
        var regs = new Dictionary<Register, ulong>();
        ulong rsp = frame.Base, rip = 0, flags = 0;
        var maskSet = new List<ulong>();
        ulong Pop()
        {
            ulong value = BinaryPrimitives.ReadUInt64LittleEndian(frame.Bytes.AsSpan((int)(rsp - frame.Base)));
            rsp += 8;
            return value;
        }
        foreach (var i in Decode(code, StubAt).Where(i => i.IP >= marker))
        {
            if (i.Mnemonic == Mnemonic.Mov && i.Op1Kind == OpKind.Immediate32) regs[i.Op0Register.GetFullRegister()] = i.GetImmediate(1);
            else if (i.Mnemonic == Mnemonic.Mov && i.Op1Register == Register.RSP) regs[i.Op0Register] = rsp;
            else if (i.Mnemonic == Mnemonic.Xor && i.Op0Register == i.Op1Register) regs[i.Op0Register.GetFullRegister()] = 0;
            else if (i.Mnemonic == Mnemonic.Syscall)
            {
                // rt_sigprocmask(SIG_SETMASK, set, NULL, 8), set read from the stack as it is then.
                Assert.Equal((RemoteLoaderStub.RtSigprocmask, RemoteLoaderStub.SigSetmask, 0UL, 8UL), ((int)regs[Register.RAX], (int)regs[Register.RDI], regs[Register.RDX], regs[Register.R10]));
                maskSet.Add(BinaryPrimitives.ReadUInt64LittleEndian(frame.Bytes.AsSpan((int)(regs[Register.RSI] - frame.Base))));
            }
            else if (i.Mnemonic == Mnemonic.Pop && i.Op0Register == Register.RSP) rsp = Pop();
            else if (i.Mnemonic == Mnemonic.Pop) regs[i.Op0Register] = Pop();
            else if (i.Mnemonic == Mnemonic.Popfq) flags = Pop();
            else if (i.Mnemonic == Mnemonic.Jmp && i.IsIPRelativeMemoryOperand)
            {
                rip = BinaryPrimitives.ReadUInt64LittleEndian(code.AsSpan((int)(i.IPRelativeMemoryAddress - StubAt)));
                break;
            }
            else Assert.Fail($"unexpected instruction in the tail: {Format(i)}");
        }

        ulong[] expected = [saved.R15, saved.R14, saved.R13, saved.R12, saved.R11, saved.R10, saved.R9, saved.R8, saved.Rbp, saved.Rdi, saved.Rsi, saved.Rdx, saved.Rcx, saved.Rbx, saved.Rax];
        Register[] names = [Register.R15, Register.R14, Register.R13, Register.R12, Register.R11, Register.R10, Register.R9, Register.R8, Register.RBP, Register.RDI, Register.RSI, Register.RDX, Register.RCX, Register.RBX, Register.RAX];
        Assert.Equal(expected, names.Select(n => regs[n]));
        Assert.Equal((saved.Eflags, saved.Rsp, saved.Rip), (flags, rsp, rip));
        // Once, before any register is popped back: the thread's own mask.
        Assert.Equal([Mask], maskSet);
    }

    [Fact]
    public void The_load_blocks_every_signal_but_the_marker_and_those_a_fault_raises()
    {
        static ulong Bit(int signal) => 1UL << (signal - 1);
        ulong usual = Bit(15) | Bit(RemoteLoaderSignals.SIGSEGV); // the program blocks SIGTERM and SIGSEGV
        ulong load = RemoteLoaderSignals.LoadMask(usual, RemoteLoaderSignals.SIGURG);

        int[] open = Enumerable.Range(1, 64).Where(s => (load & Bit(s)) == 0).ToArray();
        // The marker must reach the tracer; a fault's signal blocked would kill the process
        // instead of running the program's handler; SIGSEGV stays blocked as the program had it.
        Assert.Equal([RemoteLoaderSignals.SIGILL, RemoteLoaderSignals.SIGTRAP, RemoteLoaderSignals.SIGBUS, RemoteLoaderSignals.SIGFPE, RemoteLoaderSignals.SIGURG, RemoteLoaderSignals.SIGSYS], open);
        // Without a marker (the stub's end watched as a system call) the marker's bit is blocked too.
        Assert.NotEqual(0UL, RemoteLoaderSignals.LoadMask(0, 0) & Bit(RemoteLoaderSignals.SIGURG));
        Assert.Equal(0UL, RemoteLoaderSignals.LoadMask(0, 0) & Bit(RemoteLoaderSignals.SIGSEGV));
    }

    static string Format(Instruction i)
    {
        var output = new StringOutput();
        new IntelFormatter().Format(i, output);
        return output.ToStringAndReset();
    }

    [Fact]
    public void A_remote_call_stub_calls_the_function_once_and_keeps_its_result_without_dlerror()
    {
        const ulong Apply = 0x7f00_0020_0370;
        var (code, marker) = RemoteLoaderStub.Assemble(StubAt, Apply, 0, Resume, 100, 101, RemoteLoaderSignals.SIGURG);
        var insns = Decode(code, StubAt);

        // mov rax, Apply; call rax; mov r12, rax: the result where memprof reads it, and no other call.
        Assert.Equal(Apply, insns[0].GetImmediate(1));
        Assert.Single(insns, i => i.Mnemonic == Mnemonic.Call);
        Assert.Contains(insns, i => i.Mnemonic == Mnemonic.Mov && i.Op0Register == Register.R12 && i.Op1Register == Register.RAX);
        Assert.DoesNotContain(insns, i => i.Mnemonic == Mnemonic.Mov && i.Op0Kind == OpKind.Register && i.Op0Register == Register.RAX && i.GetImmediate(1) == DlError);
        // The marker follows the tgkill as in a load.
        Assert.Equal(marker, insns.First(i => i.Mnemonic == Mnemonic.Syscall).NextIP);
    }
}
