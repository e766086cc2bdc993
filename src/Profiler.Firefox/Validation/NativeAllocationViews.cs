using System.Text.Json;

namespace Profiler.Firefox;

/// <summary>
/// What the Firefox Profiler's four views of one thread's native allocations add up to, computed
/// as its profile-data.js does: Allocated Memory (filterToAllocations: rows of positive weight),
/// Retained Memory (filterToRetainedAllocations: allocations no later free at their address
/// released), Deallocation Sites (filterToDeallocationsSites: rows of negative weight, under their
/// own stack) and Deallocated Memory (filterToDeallocationsMemory: frees under the stack of the
/// allocation they release). A row counts in a view only when the view leaves it a stack. Bytes
/// are given as positive numbers; the profiler shows frees as negative ones.
/// </summary>
/// <param name="FreesWithoutStack">Frees missing from Deallocation Sites for want of a stack.</param>
/// <param name="UnpairedFrees">Frees missing from Deallocated Memory: no allocation at their
/// address came before them (weight 0 counts as an allocation to the profiler).</param>
/// <param name="FreesOfStacklessAllocations">Frees missing from Deallocated Memory because the
/// allocation they release has no stack.</param>
public sealed record NativeAllocationViews(
    long AllocatedBytes, long RetainedBytes, long DeallocationSitesBytes, long DeallocatedBytes,
    int FreesWithoutStack, int UnpairedFrees, int FreesOfStacklessAllocations)
{
    /// <summary>The views of a <c>nativeAllocations</c> table with a <c>memoryAddress</c> column;
    /// null when the table is not one whose columns can be read (the structural checks say why).</summary>
    public static NativeAllocationViews? Of(JsonElement nativeAllocations)
    {
        if (Read(nativeAllocations) is not { } rows) return null;
        var (weights, stacks, addresses) = rows;
        long allocated = 0, sites = 0, deallocated = 0;
        int withoutStack = 0, unpaired = 0, ofStackless = 0;
        // Retained: the row of the allocation live at each address. Deallocated: as the profiler
        // keeps it, the stack of that allocation (it overwrites an address allocated twice).
        var live = new Dictionary<double, int>();
        for (int row = 0; row < weights.Length; row++)
        {
            double weight = weights[row];
            if (weight >= 0)
            {
                if (weight > 0 && stacks[row] is not null) allocated += (long)weight;
                live[addresses[row]] = row;
                continue;
            }
            if (stacks[row] is not null) sites -= (long)weight;
            else withoutStack++;
            if (!live.Remove(addresses[row], out int allocation)) unpaired++;
            else if (stacks[allocation] is null) ofStackless++;
            else deallocated -= (long)weight;
        }
        long retained = live.Values.Where(row => stacks[row] is not null).Sum(row => (long)weights[row]);
        return new NativeAllocationViews(allocated, retained, sites, deallocated, withoutStack, unpaired, ofStackless);
    }

    static (double[] Weights, int?[] Stacks, double[] Addresses)? Read(JsonElement table)
    {
        if (table.Property("length") is not { } lengthValue || !lengthValue.IsInteger(0, int.MaxValue)) return null;
        int length = lengthValue.GetInt32();
        if (Column(table, "weight", length) is not { } weightColumn
            || Column(table, "stack", length) is not { } stackColumn
            || Column(table, "memoryAddress", length) is not { } addressColumn) return null;
        var weights = new double[length];
        var stacks = new int?[length];
        var addresses = new double[length];
        using var weight = weightColumn.EnumerateArray();
        using var stack = stackColumn.EnumerateArray();
        using var address = addressColumn.EnumerateArray();
        for (int row = 0; weight.MoveNext() && stack.MoveNext() && address.MoveNext(); row++)
        {
            if (!weight.Current.IsNumber() || !address.Current.IsNumber()
                || !(stack.Current.IsNull() || stack.Current.IsInteger(0, int.MaxValue))) return null;
            weights[row] = weight.Current.GetDouble();
            stacks[row] = stack.Current.IsNull() ? null : stack.Current.GetInt32();
            // The profiler keys addresses as JavaScript numbers.
            addresses[row] = address.Current.GetDouble();
        }
        return (weights, stacks, addresses);
    }

    static JsonElement? Column(JsonElement table, string name, int length) =>
        table.Property(name) is { ValueKind: JsonValueKind.Array } column && column.GetArrayLength() == length ? column : null;
}
