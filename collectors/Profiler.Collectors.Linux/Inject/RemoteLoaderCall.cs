using System.Diagnostics;
using System.Text;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>Runs dlopen (or, with <paramref name="function"/>, that function) on the thread caught
/// at a safe point, then puts it back. The thread runs it with its signals blocked (but the
/// marker and those its own faults raise): a handler of the program's would otherwise run in the
/// middle of dlopen, possibly with the allocator's lock held. Signals that come meanwhile stay
/// pending and are delivered once the thread is back in its code with its own mask. From the
/// moment the thread runs the stub, memprof may disappear at any time: the stub then finishes
/// and restores the thread itself, its signal mask included.</summary>
sealed class RemoteLoaderCall(IPtrace ptrace, int pid, int tid, RemoteLoaderPlan plan, string library, ulong? function = null)
{
    public sealed record Outcome(ulong Handle, string? Failure, TimeSpan Duration, int Stops = 0);

    static readonly TimeSpan StopBound = TimeSpan.FromSeconds(1);
    int _signal;
    ulong _marker;
    ulong _usualMask;
    readonly List<string> _signals = [];

    /// <param name="signal">The stub's marker signal (0: watch system calls instead).</param>
    /// <param name="restore">The registers memprof puts back at the end, when they differ from
    /// those the stub restores by itself (a thread caught in a waiting call: see <see cref="RemoteLoaderIdlePoint"/>).</param>
    public Outcome Run(PtraceRegisters saved, int signal, TimeSpan bound, PtraceRegisters? restore = null)
    {
        var putBack = restore ?? saved;
        bool hasExtended = ptrace.GetExtendedState(tid, out var extended, out int extendedKind) == 0;
        if (ptrace.GetSignalMask(tid, out _usualMask) != 0) return Abandon("the thread's signal mask cannot be read");
        var frame = RemoteLoaderFrame.Build(saved, library, plan.StubAddress, _usualMask);
        var (stub, marker) = function is { } called
            ? RemoteLoaderStub.Assemble(plan.StubAddress, called, 0, saved.Rip, pid, tid, signal)
            : RemoteLoaderStub.Assemble(plan.StubAddress, plan.DlOpen, plan.DlError, saved.Rip, pid, tid, signal);
        (_signal, _marker) = (signal, marker);

        if (ReadBytes(frame.Base, frame.Bytes.Length) is not { } stackWas || ReadBytes(plan.StubAddress, stub.Length) is not { } stubWas)
            return Abandon("the thread's stack or the stub's place cannot be read");
        if (!WriteBytes(plan.StubAddress, stub) || !WriteBytes(frame.Base, frame.Bytes))
        {
            WriteBytes(plan.StubAddress, stubWas);
            return Abandon("the stub or its frame cannot be written into the process");
        }
        int Resume(int deliver) => signal != 0 ? ptrace.Continue(tid, deliver) : ptrace.ContinueToSystemCall(tid, deliver);
        var clock = Stopwatch.StartNew();
        // The mask after the registers: stopped on the stub's first instruction, a thread whose
        // tracer dies runs the stub, and the stub's tail sets the usual mask back whatever it had.
        if (ptrace.SetRegisters(tid, frame.CallRegisters) != 0 || ptrace.SetSignalMask(tid, RemoteLoaderSignals.LoadMask(_usualMask, signal)) != 0 || Resume(0) != 0)
        {
            // Back as it was, if the thread is still there to be put back.
            ptrace.SetSignalMask(tid, _usualMask);
            ptrace.SetRegisters(tid, putBack);
            WriteBytes(plan.StubAddress, stubWas);
            WriteBytes(frame.Base, stackWas);
            return Abandon("the thread could not be started on the stub");
        }

        int stops = 0;
        while (true)
        {
            stops++;
            var left = bound - clock.Elapsed;
            var status = left > TimeSpan.Zero ? ptrace.Wait(tid, left) : null;
            if (status is null)
            {
                // dlopen is still running: the stub will finish it and restore the thread alone.
                LetGo();
                return new Outcome(0, $"dlopen did not return within {bound.TotalSeconds:0.#} s; the thread finishes it on its own", clock.Elapsed);
            }
            switch (status.Value.Kind)
            {
                case PtraceStopKind.Gone:
                    return new Outcome(0, $"the process ended during the load{(status.Value.Signal != 0 ? $" (signal {status.Value.Signal})" : "")}{string.Concat(_signals)}", clock.Elapsed);
                case PtraceStopKind.SystemCall or PtraceStopKind.Signal when AtMarker(status.Value, out var regs):
                    return Finish(regs, putBack, hasExtended ? extended : null, extendedKind, stubWas, stackWas, frame.Base, clock.Elapsed) with { Stops = stops };
                case PtraceStopKind.Signal:
                    // A signal for the thread during the load: delivered, its handler runs below the frame.
                    ptrace.GetSignalCode(tid, out int code);
                    ptrace.GetRegisters(tid, out var at);
                    _signals.Add($"; signal {status.Value.Signal} (code {code}) at 0x{at.Rip:x}");
                    Resume(status.Value.Signal);
                    break;
                default:
                    // A system call of dlopen's, an interrupt, or job control stopping the process:
                    // the load goes on regardless, the thread stops once it is back where it was.
                    Resume(0);
                    break;
            }
        }
    }

    /// <summary>The thread stopped just past the stub's tgkill: for its signal, or (with no
    /// signal) at the system call's entry.</summary>
    bool AtMarker(PtraceStatus status, out PtraceRegisters regs)
    {
        bool ours = status.Kind == PtraceStopKind.Signal ? _signal != 0 && status.Signal == _signal : _signal == 0;
        return ptrace.GetRegisters(tid, out regs) == 0 && ours && regs.Rip == _marker &&
               (status.Kind == PtraceStopKind.Signal || regs.OrigRax == RemoteLoaderStub.TgKill);
    }

    /// <summary>At the stub's marker: reads dlopen's result, then restores the signal mask, the
    /// registers (no system call to restart or finish: orig_rax says none), the vector state, the
    /// stub's place and the stack, and lets the thread go on into the allocator, the marker signal
    /// dropped. Signals held pending during the load are delivered as it resumes.</summary>
    Outcome Finish(PtraceRegisters atMarker, PtraceRegisters saved, byte[]? extended, int extendedKind, byte[] stubWas, byte[] stackWas, ulong frameBase, TimeSpan duration)
    {
        ulong handle = atMarker.R12;
        string? failure = handle != 0 ? null
            : function is { } called ? $"the function at 0x{called:x} returned 0"
            : "dlopen failed: " + (atMarker.R13 != 0 ? ReadString(atMarker.R13) : "(no message)");
        // The mask first: were memprof to die before the registers are back, the thread runs the
        // stub's tail (which sets the mask again); after them, nothing would unblock its signals.
        ptrace.SetSignalMask(tid, _usualMask);
        // Were the registers not taken back, the thread would still run the stub's tail: it stays.
        if (ptrace.SetRegisters(tid, saved) == 0)
        {
            if (extended is not null) ptrace.SetExtendedState(tid, extended, extendedKind);
            WriteBytes(plan.StubAddress, stubWas);
            WriteBytes(frameBase, stackWas);
        }
        ptrace.Detach(tid, 0);
        return new Outcome(handle, failure, duration);
    }

    Outcome Abandon(string why)
    {
        ptrace.Detach(tid, 0);
        return new Outcome(0, why, TimeSpan.Zero);
    }

    /// <summary>Detaches from the running thread: it must stop first; a signal caught meanwhile is passed on.</summary>
    void LetGo()
    {
        if (ptrace.Interrupt(tid) != 0) return;
        while (ptrace.Wait(tid, StopBound) is { } status && status.Kind != PtraceStopKind.Gone)
        {
            if (status.Kind is PtraceStopKind.Interrupt or PtraceStopKind.SystemCall or PtraceStopKind.GroupStop)
            {
                ptrace.Detach(tid, 0);
                return;
            }
            ptrace.Detach(tid, status.Signal);
            return;
        }
    }

    string ReadString(ulong address)
    {
        var bytes = new List<byte>();
        for (ulong at = address; bytes.Count < 1024; at += 8)
        {
            if (ptrace.ReadWord(tid, at, out var word) != 0) break;
            for (int i = 0; i < 8; i++)
            {
                byte b = (byte)(word >> (8 * i));
                if (b == 0) return Encoding.UTF8.GetString([.. bytes]);
                bytes.Add(b);
            }
        }
        return Encoding.UTF8.GetString([.. bytes]);
    }

    byte[]? ReadBytes(ulong address, int length)
    {
        ulong start = address & ~7UL, end = (address + (ulong)length + 7) & ~7UL;
        var words = new byte[end - start];
        for (ulong at = start; at < end; at += 8)
        {
            if (ptrace.ReadWord(tid, at, out var word) != 0) return null;
            BitConverter.TryWriteBytes(words.AsSpan((int)(at - start)), word);
        }
        return words.AsSpan((int)(address - start), length).ToArray();
    }

    /// <summary>Writes whole words; the bytes of a word outside the range keep their value.</summary>
    bool WriteBytes(ulong address, byte[] bytes)
    {
        ulong start = address & ~7UL, end = (address + (ulong)bytes.Length + 7) & ~7UL;
        if (ReadBytes(start, (int)(end - start)) is not { } words) return false;
        bytes.CopyTo(words.AsSpan((int)(address - start)));
        for (ulong at = start; at < end; at += 8)
            if (ptrace.WriteWord(tid, at, BitConverter.ToUInt64(words, (int)(at - start))) != 0) return false;
        return true;
    }
}
