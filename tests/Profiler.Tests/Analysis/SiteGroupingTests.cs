using Profiler.Core.Analysis;
using Profiler.Core.Model;

namespace Profiler.Tests.Analysis;

/// <summary>Which function an allocation belongs to: its site, and every function above it.</summary>
public sealed class SiteGroupingTests
{
    static HeapMetrics Compute(ProfileModel model) => HeapMetrics.Compute(model, HeapAnalysis.Compute(model));

    [Fact]
    public void A_recursive_function_counts_once_per_stack_but_each_call_tree_node_counts()
    {
        var m = new TestModel();
        var deep = m.Stack("main", "app::walk", "app::walk", "malloc");
        var shallow = m.Stack("main", "app::walk", "malloc");
        var model = m.Alloc(0, 0x10, 10, deep).Alloc(1, 0x20, 20, shallow).Build();
        var metrics = Compute(model);

        Assert.Equal(30, Assert.Single(metrics.Functions(model.Tables), f => f.Name == "app::walk").Metrics.AllocatedBytes);
        Assert.Equal(30, Assert.Single(metrics.Sites(model.Tables)).Metrics.AllocatedBytes);
        var tree = metrics.CallTree(model.Tables);
        var innerWalk = model.Tables.Stack(deep).Parent;
        var outerWalk = model.Tables.Stack(innerWalk).Parent;
        Assert.Equal((30L, 10L, 10L, 20L), (tree[outerWalk].AllocatedBytes, tree[innerWalk].AllocatedBytes, tree[deep].AllocatedBytes, tree[shallow].AllocatedBytes));
    }

    [Fact]
    public void An_inlined_function_is_a_site_of_its_own_with_its_line()
    {
        var m = new TestModel();
        var s = m.Stack("main", "app::outer:5", "app::helper:12@1", "malloc");
        var model = m.Alloc(0, 0x10, 10, s).Build();
        var metrics = Compute(model);

        var site = Assert.Single(metrics.Sites(model.Tables));
        Assert.Equal("app::helper", site.Name);
        Assert.Equal([12], site.Lines);
        Assert.Equal([5], Assert.Single(metrics.Functions(model.Tables), f => f.Name == "app::outer").Lines);
    }

    public static TheoryData<string[], string> Stacks() => new()
    {
        { ["main", "app::f", "__GI___libc_malloc"], "app::f" },
        { ["main", "app::f", "__posix_memalign", "_int_memalign"], "app::f" },
        { ["main", "app::push", "alloc::raw_vec::finish_grow", "<alloc::alloc::Global as core::alloc::Allocator>::grow", "alloc::alloc::realloc@1", "__GI___libc_realloc"], "app::push" },
        { ["main", "app::make", "<std::alloc::System>::alloc_impl", "__rustc::__rdl_alloc", "malloc"], "app::make" },
        { ["main", "app::boxed", "alloc::alloc::exchange_malloc", "_rjem_malloc"], "app::boxed" },
        { ["malloc"], "malloc" },
    };

    [Theory]
    [MemberData(nameof(Stacks))]
    public void The_site_is_the_innermost_frame_outside_the_allocator(string[] rootToLeaf, string site)
    {
        var m = new TestModel();
        var model = m.Alloc(0, 0x10, 10, m.Stack(rootToLeaf)).Build();
        Assert.Equal(site, Assert.Single(Compute(model).Sites(model.Tables)).Name);
    }

    [Fact]
    public void Allocations_without_a_stack_are_a_site_of_their_own()
    {
        var m = new TestModel();
        var model = m.Alloc(0, 0x10, 10, StackId.None).Alloc(1, 0x20, 5, m.Stack("app::f")).Build();
        var sites = Compute(model).Sites(model.Tables);
        var none = Assert.Single(sites, s => s.Function is null);
        Assert.Equal((FunctionMetrics.NoStack, 10L), (none.Name, none.Metrics.AllocatedBytes));
        Assert.Null(SiteAnalysis.SiteOf(model.Tables, model.Events.Stack[0]));
    }

    [Theory]
    [InlineData("retained", SiteOrder.Retained)]
    [InlineData("Short-Lived", SiteOrder.ShortLived)]
    [InlineData("count", SiteOrder.Count)]
    public void Orders_parse_by_their_command_names(string text, SiteOrder expected)
    {
        Assert.True(SiteRanking.TryParse(text, out var order));
        Assert.Equal(expected, order);
        Assert.False(SiteRanking.TryParse("biggest", out _));
    }
}
