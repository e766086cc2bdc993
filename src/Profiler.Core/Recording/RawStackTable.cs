using System.Collections;
using Stack = Profiler.Core.Recording.Proto.Stack;
using System.Diagnostics.CodeAnalysis;

namespace Profiler.Core.Recording;

/// <summary>
/// A recording's raw stacks, by id, kept as a prefix tree of addresses from the outermost caller
/// in: a node is an address under its caller's node, and a stack is its innermost node. Exact
/// recordings have millions of stacks of dozens of frames that differ mostly in their last few
/// (a stack a protobuf object holding its addresses took ~290 bytes a stack); here a distinct
/// node costs 12 bytes and ~6 of index, a stack 4. A stack added again under its id replaces the
/// one before, as a later stack record does. Read as a dictionary, a stack is built on each lookup:
/// <see cref="CopyLeafFirst"/> fills a caller's buffer instead.
/// </summary>
public sealed class RawStackTable : IReadOnlyDictionary<ulong, Stack>
{
    /// <summary>Ids above this many per stack (and a margin) are kept in a dictionary, not an array.</summary>
    const int DenseSlack = 16, DenseMargin = 4096;
    const int Absent = 0, NoNode = -1;

    readonly RawStackNodes _nodes = new();
    /// <summary>By id (the recorder numbers stacks from one up): <see cref="Entry"/> codes, <see cref="Absent"/> where none.</summary>
    int[] _dense = [];
    /// <summary>Ids too far apart for <see cref="_dense"/>.</summary>
    readonly Dictionary<ulong, int> _sparse = [];
    // The stack added last, from the outermost frame in: the next one shares its callers mostly.
    readonly List<ulong> _lastAddresses = [];
    readonly List<int> _lastNodes = [];

    public int Count { get; private set; }

    /// <summary>The highest id held (0 when none).</summary>
    public ulong MaxId { get; private set; }

    /// <summary>Distinct nodes of the tree (for measuring).</summary>
    public int NodeCount => _nodes.Count;

    /// <summary>Stacks as the generated records hold them (addresses leaf first).</summary>
    public static RawStackTable Of(IEnumerable<Stack> stacks)
    {
        var table = new RawStackTable();
        foreach (var stack in stacks) table.Add(stack);
        return table;
    }

    public void Add(Stack stack)
    {
        var outermostFirst = new ulong[stack.Addresses.Count];
        for (int i = 0; i < outermostFirst.Length; i++) outermostFirst[i] = stack.Addresses[outermostFirst.Length - 1 - i];
        Add(stack.Id, outermostFirst, stack.Truncated);
    }

    /// <param name="outermostFirst">The stack's addresses from the outermost caller to the innermost frame.</param>
    public void Add(ulong id, ReadOnlySpan<ulong> outermostFirst, bool truncated)
    {
        int shared = 0;
        while (shared < outermostFirst.Length && shared < _lastAddresses.Count && outermostFirst[shared] == _lastAddresses[shared]) shared++;
        _lastAddresses.RemoveRange(shared, _lastAddresses.Count - shared);
        _lastNodes.RemoveRange(shared, _lastNodes.Count - shared);
        int node = shared > 0 ? _lastNodes[shared - 1] : NoNode;
        for (int i = shared; i < outermostFirst.Length; i++)
        {
            node = _nodes.Intern(node, outermostFirst[i]);
            _lastAddresses.Add(outermostFirst[i]);
            _lastNodes.Add(node);
        }
        Set(id, Entry.Code(node, truncated));
    }

    /// <summary>Gives back what only adding needs (the nodes' index, the ids' spare room); adding
    /// again afterwards still works.</summary>
    public void TrimExcess()
    {
        _nodes.DropIndex();
        if (MaxId < (ulong)_dense.Length) Array.Resize(ref _dense, (int)MaxId + 1);
        _lastAddresses.Clear();
        _lastNodes.Clear();
    }

    void Set(ulong id, int code)
    {
        if (id < (ulong)_dense.Length || id <= (ulong)Count * DenseSlack + DenseMargin)
        {
            if (id >= (ulong)_dense.Length)
                Array.Resize(ref _dense, (int)Math.Min(Array.MaxLength, Math.Max((long)id + 1, 2L * _dense.Length)));
            if (_dense[id] == Absent) Count++;
            _dense[id] = code;
        }
        else
        {
            if (!_sparse.ContainsKey(id)) Count++;
            _sparse[id] = code;
        }
        MaxId = Math.Max(MaxId, id);
    }

    int CodeOf(ulong id) =>
        id < (ulong)_dense.Length ? _dense[id] : _sparse.GetValueOrDefault(id, Absent);

    public bool ContainsKey(ulong id) => CodeOf(id) != Absent;

    /// <summary>The stack's addresses, innermost first (as a stack record lists them), into <paramref name="leafFirst"/>.</summary>
    /// <returns>False when no stack has that id (then the list is left empty).</returns>
    public bool CopyLeafFirst(ulong id, List<ulong> leafFirst, out bool truncated)
    {
        leafFirst.Clear();
        int code = CodeOf(id);
        truncated = false;
        if (code == Absent) return false;
        truncated = Entry.Truncated(code);
        for (int node = Entry.Leaf(code); node != NoNode; node = _nodes.Parent(node)) leafFirst.Add(_nodes.Address(node));
        return true;
    }

    public bool TryGetValue(ulong id, [MaybeNullWhen(false)] out Stack value)
    {
        var addresses = new List<ulong>();
        if (!CopyLeafFirst(id, addresses, out bool truncated))
        {
            value = null;
            return false;
        }
        value = new Stack { Id = id, Truncated = truncated };
        value.Addresses.AddRange(addresses);
        return true;
    }

    public Stack this[ulong id] => TryGetValue(id, out var stack) ? stack : throw new KeyNotFoundException($"no stack {id}");

    /// <summary>The ids held: the dense ones in order, then the others in the order added.</summary>
    public IEnumerable<ulong> Keys
    {
        get
        {
            for (int i = 0; i < _dense.Length; i++)
                if (_dense[i] != Absent) yield return (ulong)i;
            foreach (var id in _sparse.Keys) yield return id;
        }
    }

    public IEnumerable<Stack> Values => Keys.Select(id => this[id]);

    public IEnumerator<KeyValuePair<ulong, Stack>> GetEnumerator() =>
        Keys.Select(id => KeyValuePair.Create(id, this[id])).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>A stack's code: its innermost node and whether it was cut, never <see cref="Absent"/>.</summary>
    static class Entry
    {
        public static int Code(int leaf, bool truncated) => (((leaf + 1) << 1) | (truncated ? 1 : 0)) + 1;
        public static int Leaf(int code) => ((code - 1) >> 1) - 1;
        public static bool Truncated(int code) => ((code - 1) & 1) != 0;
    }
}
