using Profiler.Collectors.Linux;
using Profiler.Collectors.Linux.Inject;
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
        Assert.Equal(new AttachChoice(true, null), AttachChoice.Decide(AllocatorMode.Auto, Dynamic));
        Assert.Equal(new AttachChoice(true, null), AttachChoice.Decide(AllocatorMode.Inject, Dynamic));
        Assert.Equal(new AttachChoice(false, null), AttachChoice.Decide(AllocatorMode.Probe, Dynamic));
        Assert.Equal(new AttachChoice(false, null), AttachChoice.Decide(AllocatorMode.JemallocProf, Dynamic));
    }

    public static TheoryData<AttachFacts, string> CannotInject => new()
    {
        { Dynamic with { StaticallyLinked = true }, "the program is statically linked: it has no allocator slots to redirect" },
        { Dynamic with { InjectLibrary = null }, "libmemprof_inject.so is missing beside memprof (it is built with the C compiler)" },
        { Dynamic with { ResidentLaunchLibrary = true }, "the process already carries memprof's launch sampler, which is read as it is" },
        { Dynamic with { LinkedAllocator = "_rjem_malloc" }, "the program's allocator is linked into it (_rjem_malloc): its calls go through no allocator slot" },
    };

    [Theory]
    [MemberData(nameof(CannotInject))]
    public void Auto_falls_back_to_probes_saying_why_in_one_line_and_inject_fails_with_its_exit_code(AttachFacts facts, string why)
    {
        var auto = AttachChoice.Decide(AllocatorMode.Auto, facts);
        Assert.False(auto.Inject);
        Assert.Equal($"attach by injection not possible ({why}): probing every allocator call", auto.Note);

        var e = Assert.Throws<ProfilerException>(() => AttachChoice.Decide(AllocatorMode.Inject, facts));
        Assert.Equal(ExitCode.InjectionFailed, e.ExitCode);
        Assert.Equal($"cannot attach by injection: {why}", e.Message);
    }

    [Fact]
    public void A_static_binary_is_named_as_such_even_though_its_allocator_is_linked_in()
    {
        var auto = AttachChoice.Decide(AllocatorMode.Auto, Dynamic with { StaticallyLinked = true, LinkedAllocator = "malloc" });
        Assert.Contains("statically linked", auto.Note);
    }

    [Fact]
    public void Auto_leaves_a_jemalloc_that_samples_for_memprof_to_its_sampling_but_inject_injects()
    {
        var jemalloc = Dynamic with { JemallocProfiling = true };
        Assert.Equal(new AttachChoice(false, null), AttachChoice.Decide(AllocatorMode.Auto, jemalloc));
        Assert.True(AttachChoice.Decide(AllocatorMode.Inject, jemalloc).Inject);
    }

    /// <summary>The remote loader's own reasons: Yama, seccomp, a debugger, no safe point in time.</summary>
    public static TheoryData<string> LoaderFailures => new()
    {
        RemoteLoaderReasons.PtraceRefused(42, RemoteLoaderReasons.EPERM, "Operation not permitted", 3, 0, privileged: true),
        RemoteLoaderReasons.PtraceRefused(42, RemoteLoaderReasons.EPERM, "Operation not permitted", 1, 0, privileged: false),
        RemoteLoaderReasons.PtraceRefused(42, RemoteLoaderReasons.EPERM, "Operation not permitted", 0, 0, privileged: true),
        RemoteLoaderReasons.PtraceRefused(42, RemoteLoaderReasons.EPERM, "Operation not permitted", 0, 7, privileged: true),
        RemoteLoaderReasons.Seccomp(42, 2, allowFilter: false)!,
        RemoteLoaderReasons.NoSafePoint(42, TimeSpan.FromSeconds(2), 4, []),
    };

    [Theory]
    [MemberData(nameof(LoaderFailures))]
    public void A_failed_injection_falls_back_under_auto_and_fails_under_inject(string why)
    {
        var auto = AttachChoice.FallBack(AllocatorMode.Auto, why);
        Assert.False(auto.Inject);
        Assert.Equal($"attach by injection not possible ({why}): probing every allocator call", auto.Note);
        Assert.DoesNotContain('\n', auto.Note!);
        var e = Assert.Throws<ProfilerException>(() => AttachChoice.FallBack(AllocatorMode.Inject, why));
        Assert.Equal(ExitCode.InjectionFailed, e.ExitCode);
        Assert.Equal($"cannot attach by injection: {why}", e.Message);
    }
}
