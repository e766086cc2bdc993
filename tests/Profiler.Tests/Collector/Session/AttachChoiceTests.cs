using Profiler.Collectors.Linux;
using Profiler.Collectors.Linux.Session;
using Profiler.Core;

namespace Profiler.Tests.Collector.Session;

/// <summary>On attach: injection where it can be done, probes otherwise (said in one line), and
/// --mode inject failing with its own exit code instead of falling back.</summary>
public sealed class AttachChoiceTests
{
    static readonly AttachFacts Dynamic = new("/opt/memprof/libmemprof_inject.so", false, false, false);

    [Fact]
    public void Auto_and_inject_inject_into_a_dynamically_linked_program_and_probe_probes()
    {
        Assert.Equal(new AttachChoice(true, null), AttachChoice.Decide(AllocatorMode.Auto, Dynamic, autoInjects: true));
        Assert.Equal(new AttachChoice(true, null), AttachChoice.Decide(AllocatorMode.Inject, Dynamic));
        Assert.Equal(new AttachChoice(false, null), AttachChoice.Decide(AllocatorMode.Probe, Dynamic));
        Assert.Equal(new AttachChoice(false, null), AttachChoice.Decide(AllocatorMode.JemallocProf, Dynamic));
    }

    [Theory]
    [InlineData(true, false, false, "statically linked")]
    [InlineData(false, true, false, "is missing beside memprof")]
    [InlineData(false, false, true, "already carries memprof's launch sampler")]
    public void Auto_falls_back_to_probes_saying_why_and_inject_fails_with_its_exit_code(bool isStatic, bool noLibrary, bool launchLibrary, string why)
    {
        var facts = new AttachFacts(noLibrary ? null : Dynamic.InjectLibrary, isStatic, false, launchLibrary);

        var auto = AttachChoice.Decide(AllocatorMode.Auto, facts, autoInjects: true);
        Assert.False(auto.Inject);
        Assert.Contains(why, auto.Note);
        Assert.EndsWith("probing every allocator call", auto.Note);
        Assert.DoesNotContain("\n", auto.Note!, StringComparison.Ordinal);

        var e = Assert.Throws<ProfilerException>(() => AttachChoice.Decide(AllocatorMode.Inject, facts));
        Assert.Equal(ExitCode.InjectionFailed, e.ExitCode);
        Assert.Contains(why, e.Message);
    }

    [Fact]
    public void Auto_leaves_a_jemalloc_that_samples_for_memprof_to_its_sampling_but_inject_injects()
    {
        var jemalloc = Dynamic with { JemallocProfiling = true };
        Assert.Equal(new AttachChoice(false, null), AttachChoice.Decide(AllocatorMode.Auto, jemalloc, autoInjects: true));
        Assert.True(AttachChoice.Decide(AllocatorMode.Inject, jemalloc).Inject);
    }

    [Fact]
    public void Auto_probes_while_injection_is_opt_in()
    {
        Assert.False(AttachChoice.AutoInjects);
        Assert.Equal(new AttachChoice(false, null), AttachChoice.Decide(AllocatorMode.Auto, Dynamic));
    }

    [Fact]
    public void A_failed_injection_falls_back_under_auto_and_fails_under_inject()
    {
        Assert.Equal("attach by injection not possible (no safe point within 2 s): probing every allocator call",
            AttachChoice.FallBack(AllocatorMode.Auto, "no safe point within 2 s").Note);
        Assert.Equal(ExitCode.InjectionFailed,
            Assert.Throws<ProfilerException>(() => AttachChoice.FallBack(AllocatorMode.Inject, "no safe point")).ExitCode);
    }
}
