using System.Runtime.InteropServices;

namespace Profiler.Integration.Tests;

/// <summary>These tests load BPF programs: they need root and a kernel with uprobes and BTF.
/// They fail (never skip) when that is missing, so a misconfigured CI cannot pass silently.</summary>
static partial class RootRequired
{
    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuid();

    public static void Check()
    {
        Assert.True(GetEuid() == 0, "the eBPF integration tests need root (run scripts/test.sh as root)");
        Assert.True(File.Exists("/sys/kernel/btf/vmlinux"), "the kernel has no BTF (/sys/kernel/btf/vmlinux)");
    }
}
