using System.Globalization;
using System.IO.Compression;
using Google.Protobuf;
using Profiler.Cli;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;
using Profiler.Tests.Elf;

namespace Profiler.Tests.Pprof;

/// <summary>
/// `memprof export --format pprof` on a recording made with <see cref="RecordingWriter"/> whose
/// stacks are addresses in a program gcc builds here, as if it ran at a PIE load address. The
/// output is checked with `go tool pprof`, including pprof's own re-symbolization of our mappings
/// and addresses with binutils, which must name the same functions as memprof did.
/// </summary>
public sealed class PprofExportCommandTests : IDisposable
{
    const string Source = """
        #include <stdlib.h>
        #include <string.h>

        __attribute__((noinline)) char *make_buffer(int n) {
            char *p = malloc(n);
            if (p) memset(p, 'x', n);
            return p;
        }

        __attribute__((noinline)) char *load_config(int n) {
            char *a = make_buffer(n);
            char *b = make_buffer(n * 2);
            free(a);
            return b;
        }

        int main(int argc, char **argv) {
            (void)argv;
            char *c = load_config(argc * 100);
            int r = c[0];
            free(c);
            return r == 'x' ? 0 : 1;
        }
        """;

    const uint Pid = 4242;
    readonly string _directory = Directory.CreateTempSubdirectory("memprof-pprof-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>A PIE runs at a random load bias; a fixed-address executable at its link-time
    /// addresses, whose text segment's address differs from its file offset.</summary>
    [Theory]
    [InlineData(true, 0x5555_5555_4000UL)]
    [InlineData(false, 0UL)]
    public async Task Export_writes_a_pprof_profile_that_go_tool_pprof_reads_and_resymbolizes_alike(bool pie, ulong loadBase)
    {
        SystemTools.Require(["gcc", "nm", "readelf", "addr2line"]);
        string program = Path.Combine(_directory, "program");
        File.WriteAllText(program + ".c", Source);
        SystemTools.Run("gcc", "-g", "-O1", pie ? "-pie" : "-no-pie", "-o", program, program + ".c");
        string buildId = Readelf.BuildId(program) ?? throw new InvalidOperationException("gcc wrote no build id");
        var functions = FunctionsOf(program);

        // Each function's allocations, on a stack of return addresses in its callers.
        string recording = Path.Combine(_directory, "program.memprof");
        using (var writer = RecordingWriter.Create(recording, new Header
        {
            StartUnixNanos = 1_700_000_000_000_000_000, Command = { program }, TargetPid = Pid,
            Collector = "test", Mode = "hand-written", SamplingRateBytes = 1,
        }))
        {
            foreach (var load in Readelf.LoadSegments(program))
                writer.WriteModule(new Module
                {
                    Pid = Pid, Path = program, BuildId = buildId,
                    Start = loadBase + (load.VirtualAddress & ~0xfffUL),
                    End = loadBase + ((load.VirtualAddress + load.MemorySize + 0xfff) & ~0xfffUL),
                    FileOffset = load.Offset & ~0xfffUL,
                });
            writer.WriteThread(new Profiler.Core.Recording.Proto.Thread { Pid = Pid, Tid = Pid, Name = "program" });
            ulong Inside(string function) => loadBase + functions[function].Address + functions[function].Size / 2;
            writer.WriteStack(new Stack { Id = 1, Addresses = { Inside("make_buffer"), Inside("load_config"), Inside("main") } });
            writer.WriteStack(new Stack { Id = 2, Addresses = { Inside("load_config"), Inside("main") } });
            writer.WriteStack(new Stack { Id = 3, Addresses = { Inside("main") } });
            long time = 0;
            void Event(EventKind kind, ulong address, ulong size, ulong stack) =>
                writer.WriteEvent(new RawEvent(kind, time += 1000, Pid, Pid, address, size, size, stack,
                    kind == EventKind.Alloc ? AllocFunction.Malloc : AllocFunction.FreeFunction));
            Event(EventKind.Alloc, 0x1000, 512, 1);
            Event(EventKind.Alloc, 0x2000, 1024, 1);
            Event(EventKind.Alloc, 0x3000, 2048, 1);
            Event(EventKind.Alloc, 0x4000, 64, 2);
            Event(EventKind.Alloc, 0x5000, 1000, 3);
            Event(EventKind.Alloc, 0x6000, 3000, 3);
            Event(EventKind.Free, 0x1000, 0, 0);
            Event(EventKind.Free, 0x5000, 0, 0);
            Event(EventKind.Free, 0x6000, 0, 0);
            writer.Complete(new Footer { EndTimeNanos = time + 1000, Events = 9 });
        }

        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await MemprofCli.RunAsync(["export", recording, "--format", "pprof"], stdout, stderr);
        Assert.True(code == 0, $"export exited with {code}: {stderr}");
        string profile = Path.Combine(_directory, "program.pb.gz");
        Assert.Equal($"wrote {profile}", stdout.ToString().Trim());
        Assert.True(File.Exists(profile));

        var allocated = new Dictionary<string, long> { ["make_buffer"] = 3584, ["load_config"] = 64, ["main"] = 4000 };
        var inUse = new Dictionary<string, long> { ["make_buffer"] = 3072, ["load_config"] = 64 };
        Assert.Equal(allocated.OrderBy(f => f.Key), GoPprof.Top(profile, "alloc_space").Flat.OrderBy(f => f.Key));
        Assert.Equal(inUse.OrderBy(f => f.Key), GoPprof.Top(profile, "inuse_space").Flat.OrderBy(f => f.Key));

        // The mapping is the program's text segment as the kernel maps it, at load bias 0.
        var raw = GoPprof.Raw(profile);
        var text = Readelf.LoadSegments(program).Single(l => l.Flags.Contains('E'));
        Assert.True(pie || text.VirtualAddress != text.Offset, "a fixed-address executable's text should not be at its file offset");
        var mapping = Assert.Single(raw.Mappings);
        Assert.Equal((program, buildId), (mapping.File, mapping.BuildId));
        Assert.Equal((text.VirtualAddress & ~0xfffUL, text.Offset & ~0xfffUL), (mapping.Start, mapping.Offset));
        Assert.Equal((text.VirtualAddress + text.MemorySize + 0xfff) & ~0xfffUL, mapping.Limit);

        // With every name, file and line taken out, pprof symbolizes our addresses through our
        // mapping with binutils and finds the same functions, with the source lines gcc recorded.
        string unnamed = Path.Combine(_directory, "unnamed.pb.gz");
        WithoutNames(profile, unnamed);
        var resymbolized = GoPprof.Top(unnamed, "alloc_space", "-symbolize=local:force", "-lines");
        Assert.DoesNotContain("failed", resymbolized.Errors);
        Assert.All(resymbolized.Flat.Keys, row => Assert.Contains("program.c:", row));
        Assert.Equal(allocated.OrderBy(f => f.Key),
            resymbolized.Flat.GroupBy(row => row.Key.Split(' ')[0]).Select(g => KeyValuePair.Create(g.Key, g.Sum(r => r.Value))).OrderBy(f => f.Key));
    }

    static void WithoutNames(string profile, string output)
    {
        Perftools.Profiles.Profile p;
        using (var input = new GZipStream(File.OpenRead(profile), CompressionMode.Decompress))
            p = Perftools.Profiles.Profile.Parser.ParseFrom(input);
        foreach (var function in p.Function) function.Name = function.SystemName = function.Filename = 0;
        foreach (var line in p.Location.SelectMany(l => l.Line)) line.Line_ = 0;
        foreach (var mapping in p.Mapping) mapping.HasFunctions = mapping.HasFilenames = mapping.HasLineNumbers = false;
        using var gzip = new GZipStream(File.Create(output), CompressionLevel.Fastest);
        p.WriteTo(gzip);
    }

    /// <summary>Link-time address and size of each function, from `nm -S`.</summary>
    static Dictionary<string, (ulong Address, ulong Size)> FunctionsOf(string program) =>
        SystemTools.Lines(SystemTools.Run("nm", "-S", "--defined-only", program))
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length == 4 && f[2] is "T" or "t")
            .ToDictionary(f => f[3], f => (ulong.Parse(f[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                ulong.Parse(f[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture)));
}
