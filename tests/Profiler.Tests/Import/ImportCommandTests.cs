using Profiler.Cli;
using Profiler.Core.Recording;
using static Profiler.Tests.Import.ImportedRecording;
using static Profiler.Tests.Cli.CliHarness;

namespace Profiler.Tests.Import;

/// <summary>`memprof import jemalloc` end to end on files: exit codes and one-line messages.</summary>
public sealed class ImportCommandTests : IDisposable
{
    readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("memprof-import");

    public void Dispose() => _dir.Delete(recursive: true);

    string WriteDump(string name, string text)
    {
        string path = Path.Combine(_dir.FullName, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Dumps_become_a_recording_that_report_reads()
    {
        string first = WriteDump("app.77.0.i0.heap", Dump(524288, ("0x401010 0x401020", 10, 10 * 4096)));
        string second = WriteDump("app.77.1.i1.heap", Dump(524288, ("0x401010 0x401020", 4, 4 * 4096)));
        var (code, stdout, stderr) = Run("import", "jemalloc", first, second);
        Assert.True(code == 0, stderr);
        string output = Path.Combine(_dir.FullName, "app.77.0.i0.memprof");
        Assert.Contains($"wrote {output}: 2 dumps of pid 77", stdout);
        Assert.Equal(77u, RecordingReader.Read(output).Header.TargetPid);
        Assert.False(File.Exists(output + ".partial"));
        var report = Run("report", output);
        Assert.True(report.Code == 0, report.Err);
        Assert.Contains("jemalloc-heap-profile", report.Out);
    }

    [Fact]
    public void Jemallocs_own_names_are_imported_in_dump_order_whatever_the_order_given()
    {
        string later = WriteDump("app.9.10.i10.heap", Dump(524288, ("0x401010 0x401020", 3, 3 * 4096)));
        string earlier = WriteDump("app.9.2.i2.heap", Dump(524288, ("0x401010 0x401020", 8, 8 * 4096)));
        string output = Path.Combine(_dir.FullName, "ordered.memprof");
        var (code, stdout, stderr) = Run("import", "jemalloc", later, earlier, "-o", output);
        Assert.True(code == 0, stderr);
        Assert.Contains("8 allocations and 5 frees", stdout);
        var live = Live(RecordingReader.Read(output));
        Assert.Equal(3, live["0x401010 0x401020"].Events);
    }

    [Fact]
    public void A_missing_dump_exits_66()
    {
        var (code, _, err) = Run("import", "jemalloc", Path.Combine(_dir.FullName, "nope.heap"), "-o", Path.Combine(_dir.FullName, "x.memprof"));
        Assert.Equal(66, code);
        AssertOneLineError(err, "nope.heap: no such file");
    }

    [Fact]
    public void A_file_of_another_type_exits_65_with_its_name_and_line()
    {
        string path = WriteDump("not-a-dump.memprof", "MEMPROF\n\u0001\u0002binary");
        var (code, _, err) = Run("import", "jemalloc", path, "-o", Path.Combine(_dir.FullName, "x.memprof"));
        Assert.Equal(65, code);
        AssertOneLineError(err, $"{path}, line 1: not a jemalloc heap profile");
    }

    [Fact]
    public void A_cut_dump_exits_67_with_its_name_and_line_and_writes_nothing()
    {
        string text = Dump(524288, ("0x401010 0x401020", 10, 40960));
        string path = WriteDump("cut.heap", text[..text.IndexOf("MAPPED", StringComparison.Ordinal)]);
        string output = Path.Combine(_dir.FullName, "cut.memprof");
        var (code, _, err) = Run("import", "jemalloc", path, "-o", output);
        Assert.Equal(67, code);
        AssertOneLineError(err, $"{path}, line 6: the profile ends before its MAPPED_LIBRARIES section");
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void An_output_in_a_missing_directory_exits_66()
    {
        string a = WriteDump("app.1.0.i0.heap", Dump(524288, ("0x401010", 1, 8)));
        var (code, _, err) = Run("import", "jemalloc", a, "-o", Path.Combine(_dir.FullName, "no", "such", "dir", "x.memprof"));
        Assert.Equal(66, code);
        AssertOneLineError(err, "cannot write");
    }

    [Fact]
    public void Dumps_of_two_processes_are_a_usage_error()
    {
        string a = WriteDump("app.1.0.i0.heap", Dump(524288, ("0x401010", 1, 8)));
        string b = WriteDump("app.2.0.i0.heap", Dump(524288, ("0x401010", 1, 8)));
        var (code, _, err) = Run("import", "jemalloc", a, b);
        Assert.Equal(64, code);
        AssertOneLineError(err, "import the dumps of one process at a time");
    }

    [Fact]
    public void Writing_over_a_dump_is_refused()
    {
        string a = WriteDump("app.1.0.i0.heap", Dump(524288, ("0x401010", 1, 8)));
        var (code, _, err) = Run("import", "jemalloc", a, "-o", a);
        Assert.Equal(64, code);
        AssertOneLineError(err, "is also an input");
    }
}
