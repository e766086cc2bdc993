using Profiler.Collectors.Linux.Bpf;
using Profiler.Collectors.Linux.Probes;

namespace Profiler.Tests.Collector;

public sealed class PrologueAnalyzerTests
{
    [Fact]
    public void Test_then_je_probes_the_jump_with_the_return_address_at_rsp()
    {
        // glibc 2.36 free: test %rdi,%rdi; je …; push %rbp
        byte[] code = [0x48, 0x85, 0xff, 0x0f, 0x84, 0xbf, 0x00, 0x00, 0x00, 0x55];
        var p = PrologueAnalyzer.Choose(code, argumentCount: 1, returnProbe: false);
        Assert.Equal(3, p.Offset);
        Assert.Equal(0, p.ReturnAddressSpOffset);
        Assert.True(p.Emulated);
    }

    [Fact]
    public void A_push_at_entry_is_probed_in_place()
    {
        byte[] code = [0x41, 0x54, 0x55, 0x53];
        var p = PrologueAnalyzer.Choose(code, 1, returnProbe: true);
        Assert.Equal((0, 0, true), (p.Offset, p.ReturnAddressSpOffset, p.Emulated));
    }

    [Fact]
    public void A_cmp_before_a_push_is_skipped()
    {
        // posix_memalign: cmpb $0x0,0x140201(%rip); push %r12
        byte[] code = [0x80, 0x3d, 0x01, 0x02, 0x14, 0x00, 0x00, 0x41, 0x54];
        var p = PrologueAnalyzer.Choose(code, 3, returnProbe: true);
        Assert.Equal(7, p.Offset);
    }

    [Fact]
    public void An_instruction_that_overwrites_an_argument_stops_the_search()
    {
        // reallocarray: mov %rsi,%rax; mul %rdx (writes rdx, the third argument); …; jo
        byte[] code = [0x48, 0x89, 0xf0, 0x48, 0xf7, 0xe2, 0x48, 0x89, 0xc6, 0x70, 0x05];
        var p = PrologueAnalyzer.Choose(code, 3, returnProbe: true);
        Assert.Equal((0, false), (p.Offset, p.Emulated));
    }

    [Fact]
    public void A_stack_adjustment_moves_the_return_address_and_forbids_a_return_probe()
    {
        // sub $0x18,%rsp; test %rdi,%rdi; je
        byte[] code = [0x48, 0x83, 0xec, 0x18, 0x48, 0x85, 0xff, 0x74, 0x05];
        Assert.Equal((7, 0x18), (PrologueAnalyzer.Choose(code, 1, false).Offset, PrologueAnalyzer.Choose(code, 1, false).ReturnAddressSpOffset));
        Assert.Equal(0, PrologueAnalyzer.Choose(code, 1, true).Offset);
    }

    [Fact]
    public void Every_allocation_function_of_the_system_libc_gets_a_probe_site()
    {
        var libc = "/lib/x86_64-linux-gnu/libc.so.6";
        Assert.True(File.Exists(libc), "this test reads the system C library");
        var sites = ProbePlanner.Plan(libc);
        foreach (var name in new[] { "malloc", "calloc", "realloc", "free", "posix_memalign", "valloc", "pvalloc" })
            Assert.Contains(sites, s => s.Symbol == name);
        // glibc's reallocarray ends in realloc, whose probe counts the call; probing both would count it twice.
        Assert.DoesNotContain(sites, s => s.Symbol == "reallocarray");
        Assert.All(sites, s => Assert.True(s.Glibc, $"{s.Symbol} is glibc's"));
        // aligned_alloc and memalign are one function in glibc: one probe serves both.
        Assert.Single(sites, s => s.Function is BpfFunction.AlignedAlloc or BpfFunction.Memalign);
        Assert.All(sites.Where(s => s.NeedsReturn), s => Assert.Equal(0, s.Point.ReturnAddressSpOffset));
        Assert.True(sites.Single(s => s.Symbol == "free").Point.Emulated, "free must not be probed at a single-stepped instruction");
    }
}
