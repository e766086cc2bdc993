using Profiler.Core.Model;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;

namespace Profiler.Tests.Recording;

/// <summary>
/// The model builder finds each event's stack through a table indexed by the raw stack id when
/// the collector's ids are small, and through the stack records otherwise. Either way an event
/// gets the frames of its own process's stack record, and none for id 0 or an id without a record.
/// </summary>
public sealed class StackIdLookupTests
{
    /// <summary>Names a frame by its module's file name and file offset.</summary>
    sealed class OffsetNames : IFrameResolver
    {
        public IReadOnlyList<ResolvedFrame> Resolve(MappedModule module, ulong lookupOffset, ulong fileOffset) =>
            [new ResolvedFrame($"{Path.GetFileName(module.Path)}+{fileOffset:x}", module.Path, module.BuildId, fileOffset, null, null)];
    }

    static readonly ulong[] UsedIds = [0, 1, 2, 3, 4, 5, 7, 1000];

    static RawRecording Recording(Func<ulong, ulong> id)
    {
        var stream = new MemoryStream();
        var writer = new RecordingWriter(stream, new Header { TargetPid = 10, Collector = "test" }, () => 0);
        writer.WriteModule(new Module { Pid = 10, Path = "/bin/a", Start = 0x1000, End = 0x2000 });
        writer.WriteModule(new Module { Pid = 20, Path = "/bin/b", Start = 0x1000, End = 0x2000, FileOffset = 0x10000 });
        // Ids 1-5 have records; 7 and 1000 do not.
        for (ulong s = 1; s <= 5; s++)
            writer.WriteStack(new Stack { Id = id(s), Addresses = { 0x1000 + s * 0x10, 0x1800 + s } });
        long time = 0;
        for (int round = 0; round < 3; round++)
            foreach (uint pid in new uint[] { 10, 20 })
                foreach (var raw in UsedIds)
                    writer.WriteEvent(new RawEvent(EventKind.Alloc, time += 10, pid, pid, 0x9000 + (ulong)time, 8, 8, raw == 0 ? 0 : id(raw), AllocFunction.Malloc));
        writer.Complete(new Footer());
        return RecordingReader.Read(new MemoryStream(stream.ToArray()), "ids.memprof");
    }

    static List<string> FramesOf(ProfileModel model, int i) =>
        model.Tables.FramesLeafFirst(model.Events.Stack[i]).Select(model.Tables.FunctionName).ToList();

    [Fact]
    public void Small_and_sparse_stack_ids_give_each_event_its_process_stack()
    {
        var dense = ProfileModelBuilder.Build(Recording(id => id), new OffsetNames());
        var sparse = ProfileModelBuilder.Build(Recording(id => id * 1_000_003 + 17), new OffsetNames());
        Assert.Equal(3 * 2 * UsedIds.Length, dense.Events.Count);
        for (int i = 0; i < dense.Events.Count; i++)
        {
            uint pid = dense.Events.Pid[i];
            ulong raw = UsedIds[i % UsedIds.Length];
            var expected = raw is >= 1 and <= 5
                ? pid == 10 ? [$"a+{0x10 * raw:x}", $"a+{0x800 + raw:x}"] : new List<string> { $"b+{0x10000 + 0x10 * raw:x}", $"b+{0x10800 + raw:x}" }
                : [];
            Assert.Equal(expected, FramesOf(dense, i));
            Assert.Equal(expected, FramesOf(sparse, i));
        }
    }
}
