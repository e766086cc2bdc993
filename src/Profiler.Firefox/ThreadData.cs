namespace Profiler.Firefox;

sealed class ThreadData(ProcessHandle process, long tid, string name, bool isMain)
{
    public ProcessHandle Process { get; } = process;
    public long Tid { get; } = tid;
    public string Name { get; } = name;
    public bool IsMain { get; } = isMain;
    public NativeAllocationColumns Allocations { get; } = new();
    public List<MarkerRow> Markers { get; } = [];
}
