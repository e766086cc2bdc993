namespace Profiler.Core.Model;

/// <summary>
/// Finds a call-tree node by its frame and parent among <see cref="CallTreeTables.Stacks"/>: an
/// open-addressing table of node numbers, at most half full, that reads the nodes themselves to
/// compare. An exact recording's tree has over a million nodes; a dictionary of them took ~20
/// bytes a node and twice that while it grew, this takes 4–8 bytes a node.
/// </summary>
sealed class StackNodeIndex(List<StackNode> nodes)
{
    /// <summary>Node number + 1 per slot (0: empty).</summary>
    int[] _slots = new int[1024];

    public bool TryFind(StackNode node, out StackId id)
    {
        int mask = _slots.Length - 1;
        for (int slot = Slot(node, mask); ; slot = (slot + 1) & mask)
        {
            int held = _slots[slot] - 1;
            if (held < 0) break;
            if (nodes[held] == node)
            {
                id = new StackId(held);
                return true;
            }
        }
        id = StackId.None;
        return false;
    }

    /// <summary>Indexes the last node of the list, just added (and not found before).</summary>
    public void AddLast()
    {
        if (2 * nodes.Count > _slots.Length)
        {
            _slots = new int[_slots.Length * 2];
            for (int i = 0; i < nodes.Count; i++) Place(i);
        }
        else Place(nodes.Count - 1);
    }

    void Place(int index)
    {
        int mask = _slots.Length - 1;
        int slot = Slot(nodes[index], mask);
        while (_slots[slot] != 0) slot = (slot + 1) & mask;
        _slots[slot] = index + 1;
    }

    static int Slot(StackNode node, int mask)
    {
        ulong key = (ulong)(uint)node.Frame.Index << 32 | (uint)node.Parent.Index;
        return (int)((key * 0x9E3779B97F4A7C15UL) >> 32) & mask;
    }
}
