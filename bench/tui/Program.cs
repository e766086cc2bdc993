// Time to the first screen of `memprof view` on a large recording: read, symbolize, analyse,
// lay out and draw the Top sites view (on the headless driver, so the terminal is not measured).
// Usage: TuiBench [EVENTS] [BINARY] [--reader-baseline]
//   (default 10,000,000 events; BINARY gives real symbols; --reader-baseline also times the
//   protobuf reference reader on the same file, the way every recording used to be read).
using System.Diagnostics;
using Profiler;
using Profiler.Core.Recording;
using Profiler.Export;
using Profiler.Viewer.Ui;
using Profiler.Viewer.ViewModels;
using Terminal.Gui.Time;
using Proto = Profiler.Core.Recording.Proto;

bool readerBaseline = args.Contains("--reader-baseline");
args = args.Where(a => a != "--reader-baseline").ToArray();
long events = args.Length > 0 ? long.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 10_000_000;
string binary = args.Length > 1 ? args[1] : "/bin/true";
string path = Path.Combine(Path.GetTempPath(), $"tui-bench-{events}.memprof");
if (!File.Exists(path)) Generate(path, events, binary);
Console.WriteLine($"{events:N0} events, {new FileInfo(path).Length / (1 << 20)} MiB");

var watch = Stopwatch.StartNew();
var model = RecordingLoader.Load(path, TextWriter.Null);
var loaded = watch.Elapsed;
var state = new ViewerState(model);
var analysed = watch.Elapsed;
using (var app = ViewerApp.CreateHeadless(new VirtualTimeProvider(), 80, 24))
using (var viewer = new ViewerApp(app, state))
{
    var session = app.Begin(viewer.Window);
    app.LayoutAndDraw(true);
    watch.Stop();
    Console.WriteLine(app.Driver!.ToString()!.Split('\n')[4]);
    if (session is not null) app.End(session);
}
Console.WriteLine($"read+symbolize {loaded.TotalSeconds:F2} s, analyses {(analysed - loaded).TotalSeconds:F2} s, " +
                  $"first screen {watch.Elapsed.TotalSeconds:F2} s");
const double TargetSeconds = 3;
Console.WriteLine($"figure: first screen {watch.Elapsed.TotalSeconds:F2} s = {watch.Elapsed.TotalSeconds / TargetSeconds:F2} × the {TargetSeconds:F0} s target");
if (readerBaseline) CompareReaders(path);

// The reader alone against the protobuf reference reader, in this run on the same file.
static void CompareReaders(string path)
{
    var fast = Stopwatch.StartNew();
    int count = RecordingReader.Read(path).Events.Count;
    fast.Stop();
    GC.Collect();
    var reference = Stopwatch.StartNew();
    using (var stream = File.OpenRead(path)) count -= ProtobufRecordingReader.Read(stream, path).Events.Count;
    reference.Stop();
    if (count != 0) throw new InvalidOperationException("the readers disagree on the number of events");
    Console.WriteLine($"figure: reader {fast.Elapsed.TotalSeconds:F2} s vs protobuf reference {reference.Elapsed.TotalSeconds:F2} s " +
                      $"= {reference.Elapsed.TotalSeconds / fast.Elapsed.TotalSeconds:F1}× faster");
}

// Allocations from 2,000 stacks of depth 16 over 5,000 code addresses; nine in ten freed soon
// after, the rest kept to the end, as a long-running server's recording looks.
static void Generate(string path, long count, string binary)
{
    const uint pid = 4242;
    const ulong start = 0x400000;
    ulong size = (ulong)Math.Max(0x10000, new FileInfo(binary).Length);
    var rng = new Random(1);
    using var writer = RecordingWriter.Create(path, new Proto.Header
    {
        TargetPid = pid, Collector = "linux-ebpf", Mode = "bench", SamplingRateBytes = 1, Launched = true, Command = { binary },
    });
    writer.WriteModule(new Proto.Module { Pid = pid, Path = binary, Start = start, End = start + size });
    var code = Enumerable.Range(0, 5000).Select(_ => start + (ulong)rng.NextInt64(0, (long)size)).ToArray();
    for (ulong id = 1; id <= 2000; id++)
    {
        var stack = new Proto.Stack { Id = id };
        for (int d = 0; d < 16; d++) stack.Addresses.Add(code[rng.Next(code.Length)]);
        writer.WriteStack(stack);
    }
    var pending = new Queue<ulong>();
    ulong next = 0x10000000;
    for (long i = 0, t = 0; i < count; i++, t += 100)
    {
        if (pending.Count > 64 && rng.Next(10) != 0)
        {
            writer.WriteEvent(new RawEvent(EventKind.Free, t, pid, pid, pending.Dequeue(), 0, 0, 0, AllocFunction.Unspecified));
            continue;
        }
        ulong bytes = (ulong)rng.Next(16, 4096);
        ulong address = next += 4096;
        if (rng.Next(10) != 0) pending.Enqueue(address);
        writer.WriteEvent(new RawEvent(EventKind.Alloc, t, pid, pid, address, bytes, bytes, (ulong)rng.Next(1, 2001), AllocFunction.Malloc));
    }
    writer.Complete(new Proto.Footer());
}
