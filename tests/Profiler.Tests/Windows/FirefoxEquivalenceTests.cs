using System.Text.Json;
using Profiler.Collectors.HeapTrace;
using Profiler.Core.Model;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;
using Profiler.Export;
using static Profiler.Tests.Windows.HeapTraceHarness;

namespace Profiler.Tests.Windows;

/// <summary>
/// The same program behaviour recorded two ways — as ETW heap records through the consumer, and as
/// the events a Linux collector writes for it (allocation and free events with inline stacks,
/// realloc as free + allocation) — must give the same Firefox profile: the same allocation rows
/// (time, bytes, address, thread, stack by function name) and the same Memory track.
/// </summary>
public sealed class FirefoxEquivalenceTests
{
    const uint Worker = MainTid + 7;
    const ulong PrivateHeap = 0x7a0000;

    /// <summary>One heap call of the scenario: what both recordings are built from.</summary>
    sealed record Call(long Time, uint Tid, string Kind, ulong Heap, ulong Address, ulong Size, ulong OldAddress, string[] Stack);

    static List<Call> Scenario()
    {
        var calls = new List<Call>();
        long t = 1_000_000;
        void Add(string kind, uint tid, ulong heap, ulong address, ulong size = 0, ulong old = 0, params string[] stack) =>
            calls.Add(new Call(t += 250_000, tid, kind, heap, address, size, old, stack));

        for (ulong i = 0; i < 10; i++)
            Add("alloc", MainTid, Heap, 0x10_0000 + i * 0x1000, 4096, stack: ["allocs::leak_leaf", "allocs::main"]);
        ulong[] churnSizes = [24, 56, 120, 248];
        for (ulong i = 0; i < 40; i++)
        {
            Add("alloc", Worker, Heap, 0x20_0000 + i % 3 * 0x100, churnSizes[i % 4], stack: ["allocs::churn", "allocs::thread_worker"]);
            Add("free", Worker, Heap, 0x20_0000 + i % 3 * 0x100);
        }
        ulong block = 0x30_0000, size = 16;
        Add("alloc", MainTid, Heap, block, size, stack: ["allocs::realloc_grow", "allocs::main"]);
        for (int i = 0; i < 6; i++)
        {
            ulong moved = i % 2 == 0 ? block : block + 0x1_0000; // alternately in place and moving
            Add("realloc", MainTid, Heap, moved, size *= 2, block, "allocs::realloc_grow", "allocs::main");
            block = moved;
        }
        Add("free", MainTid, Heap, block);
        for (ulong i = 0; i < 3; i++)
            Add("alloc", MainTid, PrivateHeap, 0x40_0000 + i * 0x40, 48 + i, stack: ["allocs::destroy_heap", "allocs::main"]);
        Add("destroy", MainTid, PrivateHeap, 0);
        Add("free", MainTid, Heap, 0x9_0000); // allocated before recording began
        return calls;
    }

    /// <summary>As ETW reports it: heap events, each allocation's stack in a separate walk.</summary>
    static List<TraceRecord> AsHeapTrace(List<Call> calls)
    {
        var records = new List<TraceRecord> { ExeImage() };
        foreach (var c in calls)
        {
            TraceRecord r = c.Kind switch
            {
                "alloc" => new HeapAlloc(c.Time, Pid, c.Tid, c.Heap, c.Address, c.Size),
                "realloc" => new HeapReAlloc(c.Time, Pid, c.Tid, c.Heap, c.Address, c.Size, c.OldAddress, 0),
                "free" => new HeapFree(c.Time, Pid, c.Tid, c.Heap, c.Address),
                _ => new HeapDestroy(c.Time, Pid, c.Tid, c.Heap),
            };
            records.Add(r);
            if (c.Stack.Length > 0) records.Add(WalkOf(r, FakeSymbols.Stack(c.Stack)));
        }
        records.Add(new ProcessStop(calls[^1].Time + 1_000_000, Pid, 0));
        return records;
    }

    /// <summary>As a Linux collector writes it: one event per allocation and per free (a realloc
    /// being both), sizes as weights, stacks inline.</summary>
    static RawRecording AsLinuxRecording(List<Call> calls)
    {
        var stream = new MemoryStream();
        var header = new Header { TargetPid = Pid, Collector = "linux-ebpf", Mode = "uprobe", SamplingRateBytes = 1, Launched = true, StartUnixNanos = 1_700_000_000_000_000_000 };
        header.Command.Add(FakeSymbols.ExePath);
        var writer = new RecordingWriter(stream, header, () => 0);
        writer.WriteModule(new Module { Pid = Pid, Path = "/app/allocs", Start = FakeSymbols.ImageBase, End = FakeSymbols.ImageBase + FakeSymbols.ImageSize });
        var stackIds = new Dictionary<string, ulong>();
        ulong StackId(string[] stack)
        {
            if (stack.Length == 0) return 0;
            string key = string.Join(">", stack);
            if (stackIds.TryGetValue(key, out var id)) return id;
            var s = new Stack { Id = id = (ulong)stackIds.Count + 1 };
            s.Addresses.Add(FakeSymbols.Stack(stack));
            writer.WriteStack(s);
            return stackIds[key] = id;
        }
        var live = new Dictionary<ulong, (ulong Heap, ulong Size)>();
        void Write(EventKind kind, Call c, ulong address, ulong size, AllocFunction function) =>
            writer.WriteEvent(new RawEvent(kind, c.Time, Pid, c.Tid, address, size, size, StackId(c.Stack), function));
        foreach (var c in calls)
        {
            switch (c.Kind)
            {
                case "alloc":
                    Write(EventKind.Alloc, c, c.Address, c.Size, AllocFunction.Malloc);
                    live[c.Address] = (c.Heap, c.Size);
                    break;
                case "realloc":
                    Write(EventKind.Free, c, c.OldAddress, 0, AllocFunction.Realloc);
                    live.Remove(c.OldAddress);
                    Write(EventKind.Alloc, c, c.Address, c.Size, AllocFunction.Realloc);
                    live[c.Address] = (c.Heap, c.Size);
                    break;
                case "free":
                    Write(EventKind.Free, c, c.Address, 0, AllocFunction.FreeFunction);
                    live.Remove(c.Address);
                    break;
                default:
                    foreach (var (address, _) in live.Where(b => b.Value.Heap == c.Heap).OrderBy(b => b.Key).ToList())
                    {
                        Write(EventKind.Free, c, address, 0, AllocFunction.FreeFunction);
                        live.Remove(address);
                    }
                    break;
            }
        }
        writer.WriteProcessExit(new Core.Recording.Proto.ProcessExit { Pid = Pid, TimeNanos = calls[^1].Time + 1_000_000 });
        writer.Complete(new Footer());
        return RecordingReader.Read(new MemoryStream(stream.ToArray()), "linux.memprof");
    }

    /// <summary>The allocation rows of every thread, each with its stack as function names from the root.</summary>
    static List<string> AllocationRows(JsonElement profile)
    {
        var shared = profile.GetProperty("shared");
        var strings = shared.GetProperty("stringArray");
        var stackTable = shared.GetProperty("stackTable");
        var frameFunc = shared.GetProperty("frameTable").GetProperty("func");
        var funcName = shared.GetProperty("funcTable").GetProperty("name");
        string StackText(JsonElement stack)
        {
            if (stack.ValueKind == JsonValueKind.Null) return "-";
            var names = new List<string>();
            for (int s = stack.GetInt32(); ; )
            {
                int frame = stackTable.GetProperty("frame")[s].GetInt32();
                names.Add(strings[funcName[frameFunc[frame].GetInt32()].GetInt32()].GetString()!);
                int offset = stackTable.GetProperty("prefixOffset")[s].GetInt32();
                if (offset == 0) break;
                s -= offset;
            }
            names.Reverse();
            return string.Join(" > ", names);
        }

        var rows = new List<string>();
        foreach (var thread in profile.GetProperty("threads").EnumerateArray())
        {
            if (!thread.TryGetProperty("nativeAllocations", out var a)) continue;
            for (int i = 0; i < a.GetProperty("length").GetInt32(); i++)
                rows.Add($"{thread.GetProperty("tid")} t={a.GetProperty("time")[i]} w={a.GetProperty("weight")[i]} " +
                         $"@{a.GetProperty("memoryAddress")[i]} tid={a.GetProperty("threadId")[i]} {StackText(a.GetProperty("stack")[i])}");
        }
        return rows;
    }

    static JsonElement Export(RawRecording recording)
    {
        var model = ProfileModelBuilder.Build(recording, new FakeSymbols());
        return JsonDocument.Parse(FirefoxExporter.Build(model).ToJson()).RootElement;
    }

    [Fact]
    public void A_heap_trace_exports_the_same_Firefox_allocations_and_memory_track_as_the_equivalent_Linux_recording()
    {
        var calls = Scenario();
        var windows = Export(Run(AsHeapTrace(calls), Options(rate: 1)).Recording);
        var linux = Export(AsLinuxRecording(calls));

        var windowsRows = AllocationRows(windows);
        var linuxRows = AllocationRows(linux);
        Assert.Equal(linuxRows, windowsRows);
        Assert.Equal(linux.GetProperty("counters").GetRawText(), windows.GetProperty("counters").GetRawText());

        // The comparison covers every kind of call: leaks, frees, both reallocs, the destroy.
        Assert.Equal(10 + 80 + 14 + 3 + 3, windowsRows.Count);
        Assert.Contains(windowsRows, r => r.Contains("w=4096 ") && r.EndsWith("allocs::main > allocs::leak_leaf > RtlAllocateHeap > RtlpAllocateHeapInternal"));
        Assert.Equal(3, windowsRows.Count(r => (r.Contains("w=-48 ") || r.Contains("w=-49 ") || r.Contains("w=-50 ")) &&
            r.EndsWith(" " + FirefoxExporter.NoStackFrame)));
    }
}
