using Profiler.Collectors.Linux.Bpf;

namespace Profiler.Collectors.Linux.Ring;

/// <summary>The kernel's counters with the rings' losses added: events dropped while memprof was
/// taken for gone, and records too damaged to read, are lost events like the kernel's.</summary>
public sealed class RingCounters(Session.IKernelCounters kernel, SharedRing ring) : Session.IKernelCounters
{
    public TracerCounters ReadCounters()
    {
        var counters = kernel.ReadCounters();
        return counters with { LostEvents = counters.LostEvents + ring.Dropped + (ring.DamagedBytes > 0 ? 1UL : 0) };
    }

    public BpfTotals? ReadTotals(int pid) => kernel.ReadTotals(pid);
}
