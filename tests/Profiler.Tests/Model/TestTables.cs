using Profiler.Core.Model;
using Profiler.Core.Recording;

namespace Profiler.Tests.Model;

/// <summary>Hand-made models' event tables: each event as a collector would record it, with the
/// stack the model would give it.</summary>
static class TestTables
{
    public static AllocationTable Of(IEnumerable<(RawEvent Event, StackId Stack)> events)
    {
        var columns = new EventColumns();
        var stacks = new List<StackId>();
        foreach (var (e, stack) in events)
        {
            columns.Add(e);
            stacks.Add(stack);
        }
        return new AllocationTable(columns, [.. stacks]);
    }
}
