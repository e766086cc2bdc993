using Profiler.Core.Recording;

namespace Profiler.Core.Model;

/// <summary>
/// Each event's stack in the model, from its process and raw stack id. The collector numbers its
/// interned stacks from one upwards, so per process a table indexed by the raw id remembers every
/// resolved stack; a hash lookup per event would cost more than everything else the builder does.
/// </summary>
static class StackLookup
{
    static readonly StackId Unresolved = new(int.MinValue);

    /// <param name="order">The events to take, in order; null for the first <c>result.Length</c>.</param>
    /// <param name="resolve">The stack of (pid, raw id), called once per pair (nothing else remembers it).</param>
    /// <param name="result">Receives each taken event's stack.</param>
    public static void Resolve(uint[] pids, ulong[] rawIds, int[]? order,
        RawStackTable known, Func<uint, ulong, StackId> resolve, StackId[] result)
    {
        int n = result.Length;
        ulong maxId = known.MaxId;
        // Ids handed out some other way (sparse, hashed) keep the plain lookup.
        bool dense = maxId <= (ulong)known.Count * 16 + 4096;
        var sparse = new Dictionary<(uint, ulong), StackId>();
        var tables = new Dictionary<uint, StackId[]>();
        StackId[]? table = null;
        uint tablePid = 0;
        for (int i = 0; i < n; i++)
        {
            int e = order is null ? i : order[i];
            uint pid = pids[e];
            ulong raw = rawIds[e];
            if (!dense)
            {
                if (!sparse.TryGetValue((pid, raw), out var id)) sparse[(pid, raw)] = id = resolve(pid, raw);
                result[i] = id;
                continue;
            }
            // Above the highest id there is no stack record, so no stack.
            if (raw > maxId) { result[i] = StackId.None; continue; }
            if (table is null || pid != tablePid)
            {
                if (!tables.TryGetValue(pid, out table))
                {
                    tables[pid] = table = new StackId[maxId + 1];
                    Array.Fill(table, Unresolved);
                }
                tablePid = pid;
            }
            ref var slot = ref table[(int)raw];
            if (slot == Unresolved) slot = resolve(pid, raw);
            result[i] = slot;
        }
    }
}
