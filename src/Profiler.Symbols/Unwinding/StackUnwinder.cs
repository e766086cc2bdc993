using Profiler.Core.Model;

namespace Profiler.Symbols.Unwinding;

/// <summary>
/// Recovers the return addresses of a sampled thread from its registers and a copy of the top of its
/// stack, the way perf --call-graph dwarf does: each frame's CFI row says where the caller's CFA, return
/// address and callee-saved registers are; where a module has no CFI for a pc, the frame-pointer rule
/// is tried instead. Every return address must land in an executable mapping, or the walk stops there:
/// a short stack is better than garbage frames.
/// One instance per thread (it caches per mapping); the hot path allocates nothing once the modules
/// involved have been seen.
/// </summary>
public sealed class StackUnwinder(UnwindTableCache tables)
{
    private sealed class Binding(UnwindTables? tables, ulong bias, bool hasBias)
    {
        public UnwindTables? Tables { get; } = hasBias ? tables : null;
        public ulong Bias { get; } = bias;
    }

    /// <summary>How far above the copied bytes a frame pointer may point and still be taken for a
    /// pointer into the uncopied rest of the stack (8 MiB: the usual stack size limit).</summary>
    private const ulong MaxUncopiedStack = 8 << 20;

    /// <summary>Mappings remembered (by instance) with their tables and load bias.</summary>
    private const int MaxBindings = 4096;

    private readonly Dictionary<MappedModule, Binding> _bindings = new(ReferenceEqualityComparer.Instance);
    private MappedModule? _lastModule;
    private Binding? _lastBinding;

    public UnwindTableCache Tables => tables;

    /// <summary>Unwinds without pending return probes; see the full overload.</summary>
    public UnwindResult Unwind(in UnwindRegisters registers, ReadOnlySpan<byte> stack, ulong stackAddress,
        IModuleLookup modules, Span<ulong> pcs, Span<FrameSource> sources = default) =>
        Unwind(registers, stack, stackAddress, modules, pcs, sources, default);

    /// <summary>Writes the pcs of the sampled stack into <paramref name="pcs"/>, leaf (rip) first, then
    /// return addresses as they are on the stack (not adjusted to the call instruction).</summary>
    /// <param name="stack">The copied stack bytes, which were at <paramref name="stackAddress"/> (the sampled rsp).</param>
    /// <param name="sources">Optional: how each frame was found, same indices as <paramref name="pcs"/>.</param>
    /// <param name="returnProbes">The uretprobe trampoline and the return addresses it replaced.</param>
    public UnwindResult Unwind(in UnwindRegisters registers, ReadOnlySpan<byte> stack, ulong stackAddress,
        IModuleLookup modules, Span<ulong> pcs, Span<FrameSource> sources, ReturnProbes returnProbes)
    {
        var memory = new StackMemory(stack, stackAddress);
        var frame = registers.ToRegisterSet();
        ulong pc = registers.Rip;
        var module = modules.Find(pc);
        bool exactPc = true;
        var source = FrameSource.Registers;
        int count = 0, framePointerFrames = 0, substituted = 0;
        while (true)
        {
            if (count == pcs.Length)
                return new UnwindResult(count, UnwindEnd.FrameLimit, framePointerFrames, substituted);
            pcs[count] = pc;
            if (count < sources.Length)
                sources[count] = source;
            count++;
            if (module is null)
                return new UnwindResult(count, UnwindEnd.OutsideModules, framePointerFrames, substituted);

            var binding = Bind(module);
            UnwindRow row;
            FrameSource method;
            // A return address may follow a call that ends its function: look up the call itself.
            ulong address = pc - binding.Bias - (exactPc ? 0UL : 1UL);
            if (binding.Tables is { } found && found.TryFindRow(address, out row))
                method = FrameSource.CallFrameInfo;
            else if (count == 1 && binding.Tables is { } plts && plts.TryFindPltRow(address, out row))
                method = FrameSource.PltStub;
            else if (FramePointerUsable(frame, memory))
                (row, method) = (UnwindRow.Synthetic(DwarfRegister.Rbp, 16, savedFramePointer: true), FrameSource.FramePointer);
            else
                return new UnwindResult(count, WhyNoFramePointer(frame, memory), framePointerFrames, substituted);

            var end = Step(row, binding.Tables, ref frame, pc, memory, returnProbes, out ulong caller, out bool replaced);
            if (end is { } stop)
                return new UnwindResult(count, stop, framePointerFrames, substituted);
            module = modules.Find(caller);
            if (module is null)
                return new UnwindResult(count, UnwindEnd.OutsideModules, framePointerFrames, substituted);
            if (replaced)
                substituted++;
            if (method == FrameSource.FramePointer)
                framePointerFrames++;
            exactPc = row.IsSignalFrame;
            source = method;
            pc = caller;
        }
    }

    /// <summary>What the CFI says of the function at return address <paramref name="returnAddress"/>
    /// for a frame-pointer walk: whether it keeps a frame pointer there (the CFA at rbp + 16, so the
    /// rbp it saved in its callee's frame record really was its frame), or is the outermost frame
    /// (its return address undefined, as at _start and a thread's start). Null when no CFI covers it.</summary>
    public FramePointerRole? RoleInFramePointerWalk(ulong returnAddress, IModuleLookup modules)
    {
        if (modules.Find(returnAddress) is not { } module || Bind(module) is not { Tables: { } found } binding)
            return null;
        // A return address may follow a call that ends its function: look up the call itself.
        if (!found.TryFindRow(returnAddress - binding.Bias - 1, out var row))
            return null;
        if (row.ReturnAddress.Kind == RegisterRuleKind.Undefined)
            return FramePointerRole.Outermost;
        return row.Cfa is { Kind: CfaRuleKind.RegisterOffset, Register: DwarfRegister.Rbp, Offset: 16 }
            ? FramePointerRole.KeepsFramePointer
            : FramePointerRole.NoFramePointer;
    }

    /// <summary>Applies one row: computes the CFA, then the caller's registers. Null to go on.</summary>
    private static UnwindEnd? Step(in UnwindRow row, UnwindTables? tables, ref RegisterSet frame, ulong pc,
        in StackMemory memory, in ReturnProbes returnProbes, out ulong returnAddress, out bool replaced)
    {
        returnAddress = 0;
        replaced = false;
        frame.Set(DwarfRegister.ReturnAddress, pc); // DW_OP_breg16 reads this frame's rip
        ulong cfa;
        if (row.Cfa.Kind == CfaRuleKind.RegisterOffset)
        {
            if (!frame.TryGet(row.Cfa.Register, out ulong baseValue))
                return UnwindEnd.UnknownRegister;
            cfa = baseValue + (ulong)(long)row.Cfa.Offset;
        }
        else if (tables is null ||
                 !DwarfExpression.TryEvaluate(tables.Expression(row, row.Cfa.Offset), frame, memory, null, null, out cfa))
        {
            return UnwindEnd.BadFrame;
        }
        if (cfa == 0 || row.ReturnAddress.Kind == RegisterRuleKind.Undefined)
            return UnwindEnd.Complete;

        // Registers without a rule: callee-saved ones keep their value, rsp becomes the CFA, the rest
        // are unknown. Then only the registers the row names need visiting.
        var caller = frame.Inherit(DwarfRegister.CalleeSavedMask & ~row.SpecifiedMask);
        if ((row.SpecifiedMask & (1u << DwarfRegister.Rsp)) == 0)
            caller.Set(DwarfRegister.Rsp, cfa);
        ulong returnSlot = 0;
        bool returnSlotKnown = false;
        for (uint pending = row.SpecifiedMask; pending != 0; pending &= pending - 1)
        {
            int register = System.Numerics.BitOperations.TrailingZeroCount(pending);
            var rule = row[register];
            ulong value;
            switch (rule.Kind)
            {
                case RegisterRuleKind.SameValue:
                    if (frame.TryGet(register, out value))
                        caller.Set(register, value);
                    break;
                case RegisterRuleKind.Offset:
                {
                    ulong slot = cfa + (ulong)(long)rule.Value;
                    if (register == DwarfRegister.ReturnAddress)
                        (returnSlot, returnSlotKnown) = (slot, true);
                    if (memory.TryRead(slot, out value))
                        caller.Set(register, value);
                    break;
                }
                case RegisterRuleKind.ValueOffset:
                    caller.Set(register, cfa + (ulong)(long)rule.Value);
                    break;
                case RegisterRuleKind.Register:
                    if (frame.TryGet(rule.Register, out value))
                        caller.Set(register, value);
                    break;
                case RegisterRuleKind.Expression:
                    if (tables is not null &&
                        DwarfExpression.TryEvaluate(tables.Expression(row, rule.Value), frame, memory, cfa, cfa, out ulong at))
                    {
                        if (register == DwarfRegister.ReturnAddress)
                            (returnSlot, returnSlotKnown) = (at, true);
                        if (memory.TryRead(at, out value))
                            caller.Set(register, value);
                    }
                    break;
                case RegisterRuleKind.ValueExpression:
                    if (tables is not null &&
                        DwarfExpression.TryEvaluate(tables.Expression(row, rule.Value), frame, memory, cfa, cfa, out value))
                        caller.Set(register, value);
                    break;
            }
        }

        if (!caller.TryGet(DwarfRegister.ReturnAddress, out returnAddress))
            return returnSlotKnown && !memory.Contains(returnSlot, 8) ? UnwindEnd.StackExhausted : UnwindEnd.BadFrame;
        if (returnAddress == 0)
            return UnwindEnd.Complete;
        if (returnProbes.IsTrampoline(returnAddress))
        {
            if (!returnSlotKnown || !returnProbes.TryGetOriginal(returnSlot, out returnAddress))
                return UnwindEnd.PendingReturnProbe;
            replaced = true;
        }
        // Outside a signal frame the caller's frame lies further out: anything else is a loop.
        if (!caller.TryGet(DwarfRegister.Rsp, out ulong callerSp) ||
            (!row.IsSignalFrame && frame.TryGet(DwarfRegister.Rsp, out ulong sp) && callerSp <= sp))
            return UnwindEnd.BadFrame;
        caller.Forget(DwarfRegister.ReturnAddress);
        frame = caller;
        return null;
    }

    /// <summary>rbp can only be a frame pointer if it points into the copied stack at or above rsp.</summary>
    private static bool FramePointerUsable(in RegisterSet frame, in StackMemory memory) =>
        frame.TryGet(DwarfRegister.Rbp, out ulong rbp) && (rbp & 7) == 0 && memory.Contains(rbp, 16) &&
        (!frame.TryGet(DwarfRegister.Rsp, out ulong rsp) || rbp >= rsp);

    /// <summary>How a walk ends where neither CFI nor the frame pointer leads on.</summary>
    private static UnwindEnd WhyNoFramePointer(in RegisterSet frame, in StackMemory memory)
    {
        if (!frame.TryGet(DwarfRegister.Rbp, out ulong rbp))
            return UnwindEnd.NoUnwindInfo;
        // The psABI marks the outermost frame of a frame-pointer chain with rbp = 0.
        if (rbp == 0)
            return UnwindEnd.Complete;
        // A frame pointer a little above the copied bytes most likely points into the part of the
        // stack that was not copied.
        ulong copyEnd = memory.Address + (ulong)memory.Bytes.Length;
        return rbp >= copyEnd && rbp - copyEnd < MaxUncopiedStack && (rbp & 7) == 0
            ? UnwindEnd.StackExhausted
            : UnwindEnd.NoUnwindInfo;
    }

    private Binding Bind(MappedModule module)
    {
        if (ReferenceEquals(module, _lastModule))
            return _lastBinding!;
        if (!_bindings.TryGetValue(module, out var binding))
        {
            // Mappings come and go with processes; bindings are cheap to rebuild, so bound them.
            if (_bindings.Count >= MaxBindings)
                _bindings.Clear();
            var moduleTables = tables.Get(module.Path, module.BuildId);
            ulong bias = 0;
            bool hasBias = moduleTables is not null && moduleTables.TryGetLoadBias(module.Start, module.FileOffset, out bias);
            binding = new Binding(moduleTables, bias, hasBias);
            _bindings[module] = binding;
        }
        _lastModule = module;
        _lastBinding = binding;
        return binding;
    }
}

/// <summary>See <see cref="StackUnwinder.RoleInFramePointerWalk"/>.</summary>
public enum FramePointerRole : byte
{
    KeepsFramePointer,
    NoFramePointer,
    Outermost,
}
