using Profiler.Collectors.Linux;
using Profiler.Collectors.Linux.Jemalloc;
using Profiler.Collectors.Linux.Probes;

namespace Profiler.Tests.Jemalloc;

public sealed class JemallocPolicyTests
{
    static readonly JemallocProfSymbols Symbols = new("_rjem_", "_rjem_je_", 0x100, 0x200, 0x300, null, null, null);

    [Fact]
    public void Rate_one_probes_every_call_even_where_jemalloc_samples()
    {
        var policy = new JemallocPolicy(AllocatorMode.Auto, rateBytes: 1);
        // Decided before the process is looked at: no /proc read can make it sample.
        Assert.Null(policy.Decide(Environment.ProcessId, "/bin/app", () => throw new InvalidOperationException("the process was looked at")));
        Assert.Contains("app: jemalloc profiling not used (--rate 1 records every allocation), probing every call", policy.Notes);
    }

    [Fact]
    public void Asking_for_jemalloc_profiling_keeps_it_at_rate_one()
    {
        var policy = new JemallocPolicy(AllocatorMode.JemallocProf, rateBytes: 1);
        policy.Decide(Environment.ProcessId, "/bin/app", () => new JemallocProfState(true, 19));
        Assert.DoesNotContain(policy.Notes, n => n.Contains("--rate 1"));
    }

    /// <summary>jemalloc's documented defaults: prof off, prof_active on, lg_prof_sample 19; the last
    /// occurrence of an option wins.</summary>
    [Theory]
    [InlineData(null, false, 19)]
    [InlineData("prof:true", true, 19)]
    [InlineData("prof:true,prof_active:false", false, 19)]
    [InlineData("prof:true,lg_prof_sample:13,lg_prof_sample:15", true, 15)]
    [InlineData("prof_active:true,lg_prof_sample:10", false, 10)]
    public void Conf_strings_give_jemallocs_state(string? conf, bool active, int lg)
    {
        Assert.Equal(new JemallocProfState(active, lg), JemallocProfiling.ParseConf(conf));
    }
}
