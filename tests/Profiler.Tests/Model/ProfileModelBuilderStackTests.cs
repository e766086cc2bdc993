using Profiler.Core.Model;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;

namespace Profiler.Tests.Model;

/// <summary>What the model builder makes of a raw stack: memprof's own frames left out, a stack
/// cut short marked with a [truncated] root.</summary>
public sealed class ProfileModelBuilderStackTests
{
    const uint Pid = 7;
    const string AppPath = "/opt/app/bin/app";
    const string PreloadPath = "/usr/lib/memprof/libmemprof_preload.so";

    /// <summary>Names each address from a table, as a symbolizer would.</summary>
    sealed class NamedAddresses(Dictionary<ulong, string> names) : IFrameResolver
    {
        public IReadOnlyList<ResolvedFrame> Resolve(MappedModule module, ulong lookupOffset, ulong fileOffset) =>
            [new ResolvedFrame(names[module.Start - module.FileOffset + fileOffset], module.Path, module.BuildId, fileOffset, null, null)];
    }

    static readonly Dictionary<ulong, string> Names = new()
    {
        [0x1050] = "main", [0x1100] = "app::work", [0x1200] = "app::helper",
        [0x5010] = "memprof_preload_sampled_alloc", [0x5020] = "malloc", [0x5030] = "memprof_preload_resize.constprop.0",
    };

    static ProfileModel Build(params Stack[] stacks)
    {
        var columns = new EventColumns();
        foreach (var stack in stacks)
            columns.Add(new RawEvent(EventKind.Alloc, (long)stack.Id, Pid, Pid, 0x9000 + stack.Id * 0x10, 8, 8, stack.Id, AllocFunction.Malloc));
        columns.TrimExcess();
        var raw = new RawRecording
        {
            Header = new Header { TargetPid = Pid },
            Modules =
            [
                new Module { Pid = Pid, Path = AppPath, Start = 0x1000, End = 0x2000 },
                new Module { Pid = Pid, Path = PreloadPath, Start = 0x5000, End = 0x6000 },
            ],
            Threads = [], Stacks = RawStackTable.Of(stacks), Events = columns, Exits = [], Warnings = [],
        };
        return ProfileModelBuilder.Build(raw, new NamedAddresses(Names));
    }

    static Stack Raw(ulong id, bool truncated, params ulong[] leafFirst)
    {
        var stack = new Stack { Id = id, Truncated = truncated };
        stack.Addresses.Add(leafFirst);
        return stack;
    }

    static string[] LeafFirst(ProfileModel model, int eventIndex) =>
        model.Tables.FramesLeafFirst(model.Events.Stack[eventIndex]).Select(model.Tables.FunctionName).ToArray();

    [Fact]
    public void Frames_of_memprofs_preload_library_are_left_out()
    {
        var model = Build(Raw(1, false, 0x5010, 0x5020, 0x1100, 0x1050), Raw(2, false, 0x5010, 0x5030, 0x1200, 0x1100, 0x1050));
        Assert.Equal(["app::work", "main"], LeafFirst(model, 0));
        Assert.Equal(["app::helper", "app::work", "main"], LeafFirst(model, 1));
        Assert.DoesNotContain(model.Tables.Functions, f => f.Name.StartsWith("memprof_preload", StringComparison.Ordinal));
        Assert.DoesNotContain(model.Tables.Modules, m => m.Path == PreloadPath);
        Assert.False(model.Tables.IsTruncated(model.Events.Stack[0]));
    }

    [Fact]
    public void A_stack_flagged_truncated_gets_a_truncated_root()
    {
        var model = Build(Raw(1, true, 0x5010, 0x1100, 0x1050));
        Assert.Equal(["app::work", "main", CallTreeTables.TruncatedFunction], LeafFirst(model, 0));
        Assert.True(model.Tables.IsTruncated(model.Events.Stack[0]));
    }

    [Fact]
    public void A_frame_pointer_walk_that_leaves_every_mapping_is_cut_there_and_marked()
    {
        // 0xdead0000 is no mapped file's: data read as a return address; what follows is not a frame.
        var model = Build(Raw(1, false, 0x5010, 0x1200, 0x1100, 0xdead0000, 0x1050), Raw(2, false, 0x5010, 0x1200, 0x1100, 0x1050));
        Assert.Equal(["app::helper", "app::work", CallTreeTables.TruncatedFunction], LeafFirst(model, 0));
        Assert.True(model.Tables.IsTruncated(model.Events.Stack[0]));
        Assert.False(model.Tables.IsTruncated(model.Events.Stack[1]));
        // One synthetic frame for every cut stack.
        Assert.Single(model.Tables.Functions, f => f.Name == CallTreeTables.TruncatedFunction);
    }
}
