using Profiler.Collectors.Linux.Procfs;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>A thread stopped by the safe point's probe at an allocator's entry (just past its first instruction).</summary>
/// <param name="ReturnAddress">The word at the entry's stack pointer: the caller's return address when the thread arrived by a call.</param>
/// <param name="Signals">The thread's signal state now.</param>
/// <param name="UsualBlocked">The signals it blocked when memprof first stopped it.</param>
/// <param name="Wait">The waiting system call it was caught in (see <see cref="RemoteLoaderIdlePoint"/>), or null at an allocator's entry.</param>
public sealed record RemoteLoaderHit(int Tid, PtraceRegisters Registers, ulong ReturnAddress, RemoteLoaderSignalState Signals, ulong UsualBlocked, string? Wait = null);

/// <summary>Whether a thread caught at an allocator's entry may run the dynamic loader. The load
/// takes the loader's lock and allocates; the thread must hold neither that lock nor one of
/// the allocator's, nor one of libc's that the loader or a library constructor takes (exit
/// handlers, stdio). At an allocator's entry the allocator's locks are free; what is left is
/// who called it: a call straight from the program (or another library) holds none of them,
/// a call from inside libc, the dynamic linker or the allocator itself may.</summary>
public static class RemoteLoaderSafePoint
{
    /// <summary>The stack the load may need below the frame: the dynamic linker's deepest paths
    /// (mapping, relocating, running constructors) stay well within this.</summary>
    public const ulong StackNeeded = 64 * 1024;

    /// <summary>The stack pointer the thread had at the allocator's entry, if it stands at one.</summary>
    public static ulong? EntryStackPointer(RemoteLoaderPlan plan, PtraceRegisters regs) =>
        plan.Entries.Select(e => e.EntryStackPointer(regs.Rip, regs.Rsp)).FirstOrDefault(s => s is not null);

    /// <summary>Null when the thread is a safe point, else why not (one line).</summary>
    public static string? Judge(RemoteLoaderHit hit, RemoteLoaderPlan plan, IReadOnlyList<MapEntry> maps)
    {
        var regs = hit.Registers;
        var entry = plan.Entries.FirstOrDefault(e => e.EntryStackPointer(regs.Rip, regs.Rsp) is not null);
        if (entry.Name is null) return $"thread {hit.Tid} is at 0x{regs.Rip:x}, not at an allocator's entry";
        if (regs.InSystemCall) return $"thread {hit.Tid} is in a system call";
        ulong atEntry = entry.EntryStackPointer(regs.Rip, regs.Rsp)!.Value;
        if (atEntry % 16 != 8) return $"thread {hit.Tid} reached {entry.Name} without a call (stack pointer 0x{atEntry:x})";
        var caller = Containing(maps, hit.ReturnAddress);
        if (caller is null || !caller.IsExecutable)
            return $"thread {hit.Tid} reached {entry.Name} from 0x{hit.ReturnAddress:x}, outside the program's code";
        // Another tool's return probe on the allocator (it shares the probe's breakpoint) put its
        // trampoline where the return address was: the real caller is not on the stack.
        if (caller.Path == "[uprobes]")
            return $"thread {hit.Tid} reached {entry.Name} with a return probe's trampoline as its return address: its caller is unknown";
        if (plan.LockHolders.Contains(caller.Path))
            return $"thread {hit.Tid} called {entry.Name} from {Path.GetFileName(caller.Path)}, which may hold one of its locks";
        return MaskAndStack(hit, maps);
    }

    /// <summary>What every kind of safe point asks of the thread itself: its usual signal mask
    /// (another may mean a signal handler interrupted anything, the allocator included) and
    /// enough stack below its frame for the loader. Null when both hold.</summary>
    internal static string? MaskAndStack(RemoteLoaderHit hit, IReadOnlyList<MapEntry> maps)
    {
        var regs = hit.Registers;
        if (hit.Signals.Blocked != hit.UsualBlocked)
            return $"thread {hit.Tid} blocks other signals than usual (0x{hit.Signals.Blocked:x}, usually 0x{hit.UsualBlocked:x}: a signal handler may be running)";
        var stack = Containing(maps, regs.Rsp);
        if (stack is null) return $"thread {hit.Tid}'s stack pointer 0x{regs.Rsp:x} is not in its memory";
        // The main thread's stack grows on demand; a thread's stack is a fixed mapping.
        if (stack.Path != "[stack]" && regs.Rsp - stack.Start < StackNeeded + 4096)
            return $"thread {hit.Tid} has {(regs.Rsp - stack.Start) / 1024} KiB of stack left, too little for the load";
        return null;
    }

    /// <summary>The thread's usual mask after one more look at it (at a stop of the watch: a catch
    /// not taken, a signal of the program's before its handler runs). A handler runs with the
    /// interrupted code's mask and more, never less, so the mask outside handlers is the smallest
    /// seen: a thread first seen inside one of its handlers (a program whose handlers run much of
    /// the time) would otherwise have every hit outside them refused, and hits inside that same
    /// handler taken. A smaller mask only makes the check stricter.</summary>
    public static ulong Usual(ulong usual, ulong seen) => usual & seen;

    internal static MapEntry? Containing(IReadOnlyList<MapEntry> maps, ulong address) =>
        maps.FirstOrDefault(m => m.Start <= address && address < m.End);
}
