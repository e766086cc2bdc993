namespace Profiler.Symbols.Dwarf;

/// <summary>The code scopes of one compilation unit: every function (DW_TAG_subprogram) and inlined
/// call (DW_TAG_inlined_subroutine) that owns code, kept in entry order so that each scope's
/// descendants follow it contiguously. Functions are indexed by address; inlined calls are found
/// by descending from the function that contains the address.</summary>
internal sealed class UnitScopes
{
    private readonly Scope[] _scopes;
    private readonly AddressRange[] _ranges;
    private readonly FunctionRange[] _functions;
    private readonly ulong[] _reach;

    private UnitScopes(List<Scope> scopes, List<AddressRange> ranges)
    {
        _scopes = [.. scopes];
        _ranges = [.. ranges];
        var functions = new List<FunctionRange>();
        for (int i = 0; i < _scopes.Length; i++)
        {
            if (_scopes[i].IsInlined && _scopes[i].Parent >= 0)
                continue;
            for (int r = 0; r < _scopes[i].RangeCount; r++)
                functions.Add(new FunctionRange(_ranges[_scopes[i].FirstRange + r], i));
        }
        functions.Sort((a, b) => a.Range.Start != b.Range.Start
            ? a.Range.Start.CompareTo(b.Range.Start)
            : a.Scope.CompareTo(b.Scope));
        _functions = [.. functions];
        _reach = new ulong[_functions.Length];
        for (int i = 0; i < _functions.Length; i++)
            _reach[i] = i == 0 ? _functions[i].Range.End : Math.Max(_reach[i - 1], _functions[i].Range.End);
    }

    internal struct Scope
    {
        public ulong EntryOffset;
        public int Parent;
        /// <summary>One past the last scope nested (at any depth) inside this one.</summary>
        public int SubtreeEnd;
        public int FirstRange;
        public int RangeCount;
        public bool IsInlined;
        public ulong CallFile;
        public int CallLine;
    }

    private readonly record struct FunctionRange(AddressRange Range, int Scope);

    public int Count => _scopes.Length;

    public ref readonly Scope this[int index] => ref _scopes[index];

    /// <summary>The address ranges of every function, for units whose root entry gives none.</summary>
    public IEnumerable<AddressRange> FunctionRanges => _functions.Select(f => f.Range);

    /// <summary>Fills <paramref name="chain"/> with the scopes containing <paramref name="address"/>,
    /// outermost (the function) first, then each inlined call inside the previous one.</summary>
    public void FindChain(ulong address, List<int> chain)
    {
        chain.Clear();
        int function = InnermostFunction(address);
        if (function < 0)
            return;
        chain.Add(function);
        int current = function;
        while (InlinedChildContaining(current, address) is var child && child >= 0)
        {
            chain.Add(child);
            current = child;
        }
    }

    public static UnitScopes Read(DwarfUnit unit)
    {
        var scopes = new List<Scope>();
        var ranges = new List<AddressRange>();
        // For each open entry with children: the scope it created, or -1.
        var open = new List<int>();
        int enclosing = -1;
        var cursor = unit.Sections.Info.Cursor(unit.Header.FirstEntry);
        var context = unit.Context;
        ulong end = unit.Header.End;
        while (cursor.Position < end)
        {
            ulong offset = cursor.Position;
            ulong code = cursor.Uleb();
            if (code == 0)
            {
                if (open.Count == 0)
                    continue; // padding after the root's children
                int closed = open[^1];
                open.RemoveAt(open.Count - 1);
                if (closed >= 0)
                {
                    SetSubtreeEnd(scopes, closed);
                    enclosing = scopes[closed].Parent;
                }
                continue;
            }
            var abbreviation = unit.Abbreviations.Find(code);
            int created = -1;
            if (abbreviation.Tag is DwTag.Subprogram or DwTag.InlinedSubroutine)
            {
                DebugEntry.ReadAttributes(ref cursor, context, abbreviation, offset, out var entry);
                created = AddScope(unit, entry, enclosing, scopes, ranges);
            }
            else if (abbreviation.HasChildren && DwTag.CannotOwnCode(abbreviation.Tag))
            {
                SkipSubtree(ref cursor, context, unit.Abbreviations, abbreviation, offset, end);
                continue;
            }
            else
            {
                DebugEntry.SkipAttributes(ref cursor, context, abbreviation);
            }
            if (abbreviation.HasChildren)
            {
                open.Add(created);
                if (created >= 0)
                    enclosing = created;
            }
        }
        // A unit cut short leaves entries open: their scopes end with the unit.
        foreach (int scope in open)
        {
            if (scope >= 0)
                SetSubtreeEnd(scopes, scope);
        }
        return new UnitScopes(scopes, ranges);
    }

    /// <summary>Adds a scope for a function or inlined call that owns code; -1 when it owns none
    /// (a declaration, an abstract instance).</summary>
    private static int AddScope(DwarfUnit unit, in DebugEntry entry, int enclosing, List<Scope> scopes, List<AddressRange> ranges)
    {
        if (!entry.HasCode)
            return -1;
        int first = ranges.Count;
        unit.AddRanges(entry, ranges);
        if (ranges.Count == first)
            return -1;
        scopes.Add(new Scope
        {
            EntryOffset = entry.Offset,
            Parent = enclosing,
            SubtreeEnd = scopes.Count + 1,
            FirstRange = first,
            RangeCount = ranges.Count - first,
            IsInlined = entry.Tag == DwTag.InlinedSubroutine,
            CallFile = entry.CallFile.AsConstant ?? 0,
            CallLine = (int)Math.Min(entry.CallLine.AsConstant ?? 0, int.MaxValue),
        });
        return scopes.Count - 1;
    }

    /// <summary>Moves past an entry and all its descendants: by its DW_AT_sibling when it has one
    /// that points forward, else by reading past each descendant.</summary>
    private static void SkipSubtree(ref DwarfCursor cursor, in FormContext context, AbbreviationTable abbreviations,
        Abbreviation abbreviation, ulong offset, ulong end)
    {
        if (abbreviation.HasSibling)
        {
            DebugEntry.ReadAttributes(ref cursor, context, abbreviation, offset, out var entry);
            if (entry.Sibling.Kind == ValueKind.Reference && entry.Sibling.Value > offset && entry.Sibling.Value <= end)
            {
                cursor.Position = entry.Sibling.Value;
                return;
            }
        }
        else
        {
            DebugEntry.SkipAttributes(ref cursor, context, abbreviation);
        }
        for (int depth = 1; depth > 0 && cursor.Position < end;)
        {
            ulong code = cursor.Uleb();
            if (code == 0)
            {
                depth--;
                continue;
            }
            var child = abbreviations.Find(code);
            DebugEntry.SkipAttributes(ref cursor, context, child);
            if (child.HasChildren)
                depth++;
        }
    }

    private static void SetSubtreeEnd(List<Scope> scopes, int index)
    {
        var scope = scopes[index];
        scope.SubtreeEnd = scopes.Count;
        scopes[index] = scope;
    }

    /// <summary>The function with the latest start among those containing the address: nested
    /// functions (with their own code) win over the one they are nested in.</summary>
    private int InnermostFunction(ulong address)
    {
        int low = 0, high = _functions.Length;
        while (low < high)
        {
            int middle = low + (high - low) / 2;
            if (_functions[middle].Range.Start <= address)
                low = middle + 1;
            else
                high = middle;
        }
        for (int i = low - 1; i >= 0 && _reach[i] > address; i--)
        {
            if (_functions[i].Range.Contains(address))
                return _functions[i].Scope;
        }
        return -1;
    }

    private int InlinedChildContaining(int parent, ulong address)
    {
        for (int child = parent + 1; child < _scopes[parent].SubtreeEnd; child = _scopes[child].SubtreeEnd)
        {
            if (_scopes[child].IsInlined && Contains(child, address))
                return child;
        }
        return -1;
    }

    private bool Contains(int scope, ulong address)
    {
        var s = _scopes[scope];
        for (int r = s.FirstRange; r < s.FirstRange + s.RangeCount; r++)
        {
            if (_ranges[r].Contains(address))
                return true;
        }
        return false;
    }
}
