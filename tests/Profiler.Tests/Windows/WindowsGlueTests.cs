using System.Runtime.InteropServices;
using System.Text;
using Profiler.Collectors.HeapTrace;
using Profiler.Collectors.Windows;
using Profiler.Core;
using Profiler.Core.Model;
using Profiler.Core.Recording;
using Profiler.Symbols.Pdb;
using static Profiler.Tests.Windows.HeapTraceHarness;

namespace Profiler.Tests.Windows;

/// <summary>The parts of the Windows collector that need no Windows: command-line quoting, the
/// clock, error messages, and the symbol resolver's behaviour where PDBs cannot be read.</summary>
public sealed class WindowsGlueTests
{
    /// <summary>The C runtime's documented argument splitting (everything after the program name),
    /// used as the oracle for quoting.</summary>
    static List<string> ParseArguments(string commandLine)
    {
        var args = new List<string>();
        var current = new StringBuilder();
        bool inQuotes = false, any = false;
        for (int i = 0; i < commandLine.Length; i++)
        {
            char c = commandLine[i];
            if (c == '\\')
            {
                int n = 0;
                while (i < commandLine.Length && commandLine[i] == '\\') { n++; i++; }
                if (i < commandLine.Length && commandLine[i] == '"')
                {
                    current.Append('\\', n / 2);
                    if (n % 2 == 1) current.Append('"');
                    else { inQuotes = !inQuotes; }
                }
                else { current.Append('\\', n); i--; }
                any = true;
            }
            else if (c == '"') { inQuotes = !inQuotes; any = true; }
            else if ((c == ' ' || c == '\t') && !inQuotes)
            {
                if (any) args.Add(current.ToString());
                current.Clear();
                any = false;
            }
            else { current.Append(c); any = true; }
        }
        if (any) args.Add(current.ToString());
        return args;
    }

    [Theory]
    // The examples of Microsoft's "Parsing C command-line arguments".
    [InlineData("\"abc\" d e", new[] { "abc", "d", "e" })]
    [InlineData(@"a\\b d""e f""g h", new[] { @"a\\b", "de fg", "h" })]
    [InlineData(@"a\\\""b c d", new[] { @"a\""b", "c", "d" })]
    [InlineData(@"a\\\\""b c"" d e", new[] { @"a\\b c", "d", "e" })]
    public void The_oracle_splits_the_documented_examples_as_documented(string commandLine, string[] expected) =>
        Assert.Equal(expected, ParseArguments(commandLine));

    [Fact]
    public void Quoted_arguments_split_back_into_the_same_arguments()
    {
        var random = new Random(3);
        const string alphabet = "ab \t\"\\";
        for (int trial = 0; trial < 5_000; trial++)
        {
            var args = Enumerable.Range(0, random.Next(1, 5))
                .Select(_ => new string(Enumerable.Range(0, random.Next(0, 8)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray()))
                .ToList();
            string line = WindowsCommandLine.Join(args);
            Assert.Equal(args, ParseArguments(line));
        }
        Assert.Equal(@"C:\app\allocs.exe --size 4 ""two words"" """" tail\ ""dir with space\\""", WindowsCommandLine.Join([@"C:\app\allocs.exe", "--size", "4", "two words", "", @"tail\", @"dir with space\"]));
    }

    [Fact]
    public void Qpc_ticks_become_nanoseconds_after_the_origin_exactly()
    {
        var clock = new QpcClock(OriginTicks: 1_000_000, TicksPerSecond: 10_000_000);
        Assert.Equal(0, clock.ToNanos(1_000_000));
        Assert.Equal(100, clock.ToNanos(1_000_001));
        Assert.Equal(-1_000, clock.ToNanos(999_990));
        var odd = new QpcClock(0, 3_579_545); // an old ACPI timer frequency: not a divisor of 1e9
        Assert.Equal(1_000_000_000, odd.ToNanos(3_579_545));
        Assert.Equal(odd.ToNanos(123_456_789_012), odd.ToNanos(123_456_789_012));
        Assert.Equal(34_489_520_040_116L, odd.ToNanos(123_456_789_012));
    }

    [Fact]
    public void ETW_start_failures_become_one_line_with_their_own_exit_code()
    {
        var denied = EtwErrors.Translate(new UnauthorizedAccessException("Access is denied."), "memprof-heap-7", 7, pidAlive: true);
        Assert.Equal(ExitCode.PermissionDenied, denied.ExitCode);
        Assert.Contains("elevated", denied.Message);

        var inUse = EtwErrors.Translate(new COMException("exists", unchecked((int)0x800700B7)), "memprof-heap-7", 7, pidAlive: true);
        Assert.Equal(WindowsExitCodes.SessionInUse, inUse.ExitCode);
        Assert.Contains("logman stop memprof-heap-7 -ets", inUse.Message);

        var gone = EtwErrors.Translate(new COMException("The parameter is incorrect.", unchecked((int)0x80070057)), "memprof-heap-7", 7, pidAlive: false);
        Assert.Equal(ExitCode.TargetNotFound, gone.ExitCode);
        Assert.Contains("pid 7", gone.Message);

        var other = EtwErrors.Translate(new COMException("boom", unchecked((int)0x80004005)), "memprof-heap-7", 7, pidAlive: true);
        Assert.Equal(ExitCode.CollectorFailed, other.ExitCode);

        var codes = new[] { denied, inUse, gone, other }.Select(e => (int)e.ExitCode).ToList();
        Assert.Equal(codes.Count, codes.Distinct().Count());
        Assert.Equal(ExitCode.SessionInUse, inUse.ExitCode);
        Assert.All(new[] { denied, inUse, gone, other }, e => Assert.DoesNotContain('\n', e.Message));
    }

    [NotOnWindowsFact]
    public void Recording_on_another_OS_fails_with_a_clear_error()
    {
        var e = Assert.Throws<ProfilerException>(() => WindowsRecordSession.Run(
            new WindowsRecordOptions("x.memprof", ["allocs.exe"], null, null, "test"), null, CancellationToken.None));
        Assert.Equal(ExitCode.KernelUnsupported, e.ExitCode);
    }

    [NotOnWindowsFact]
    public void Without_Windows_the_resolver_names_frames_by_module_and_RVA_and_says_why_once()
    {
        using var resolver = new PdbFrameResolver();
        var module = new MappedModule(@"C:\app\allocs.exe", "", 0x7ff6_1000_0000, 0x7ff6_1010_0000, 0);
        var first = resolver.Resolve(module, 0x1233, 0x1234);
        resolver.Resolve(module, 0x2000, 0x2001);

        Assert.Equal("allocs.exe+0x1234", Assert.Single(first).Function);
        Assert.Equal(0x1234UL, first[0].Address);
        Assert.Contains("only be read on Windows", Assert.Single(resolver.Warnings));
    }

    [Fact]
    public void Records_posted_before_the_consumer_exists_go_in_first()
    {
        var gate = new RecordGate();
        var stack = FakeSymbols.Stack("allocs::churn");
        gate.Post(ExeImage());
        gate.Post(new HeapAlloc(1_000, Pid, MainTid, Heap, 0x5000, 100, stack));
        var stream = new MemoryStream();
        var writer = new RecordingWriter(stream, new Core.Recording.Proto.Header { TargetPid = Pid }, () => 0);
        gate.Open(new HeapTraceConsumer(writer, Options()));
        gate.Post(new HeapFree(2_000, Pid, MainTid, Heap, 0x5000));
        gate.With(consumer => { consumer.Complete(); return 0; });
        writer.Complete(new Core.Recording.Proto.Footer());

        var recording = RecordingReader.Read(new MemoryStream(stream.ToArray()), "gate.memprof");
        Assert.Single(recording.Modules);
        Assert.Equal([EventKind.Alloc, EventKind.Free], recording.Events.Kind);
    }
}
