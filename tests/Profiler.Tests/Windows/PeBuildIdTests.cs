using System.Globalization;
using System.Text.RegularExpressions;
using Profiler.Symbols.Pe;

namespace Profiler.Tests.Windows;

/// <summary>PDB identities read from PE images, checked against binutils' <c>objdump -p</c>,
/// which prints each image's CodeView record.</summary>
public sealed partial class PeBuildIdTests
{
    public static TheoryData<string> Images => new()
    {
        typeof(PeBuildId).Assembly.Location,            // managed, portable PDB
        typeof(object).Assembly.Location,               // the runtime's own, ready-to-run
        // A native x64 image: TraceEvent ships it, and it is copied beside the test binaries.
        Path.Combine(AppContext.BaseDirectory, "amd64", "KernelTraceControl.dll"),
    };

    [Theory]
    [MemberData(nameof(Images))]
    public void The_PDB_signature_age_and_path_match_objdump(string image)
    {
        Assert.True(File.Exists(image), $"{image} is missing");
        var expected = ObjdumpCodeView(image);

        var actual = PeBuildId.Read(image);

        Assert.NotNull(actual);
        Assert.Equal(expected.Signature + expected.Age.ToString("x", CultureInfo.InvariantCulture), actual.BuildId);
        Assert.Equal(expected.Age, actual.Age);
        Assert.Equal(expected.PdbPath, actual.PdbPath);
    }

    [Fact]
    public void A_build_id_parses_back_to_its_guid_and_age()
    {
        var guid = Guid.NewGuid();
        Assert.True(PeBuildId.TryParse(PeBuildId.Format(guid, 0x1a2b), out var parsed, out uint age));
        Assert.Equal((guid, 0x1a2bu), (parsed, age));
        Assert.False(PeBuildId.TryParse("deadbeef", out _, out _));
        Assert.False(PeBuildId.TryParse(new string('z', 33), out _, out _));
    }

    [Fact]
    public void A_file_that_is_not_a_PE_image_has_no_signature()
    {
        string path = Path.Combine(Path.GetTempPath(), $"memprof-not-pe-{Guid.NewGuid():n}");
        File.WriteAllText(path, "MZ but not really");
        try { Assert.Null(PeBuildId.Read(path)); }
        finally { File.Delete(path); }
        Assert.Null(PeBuildId.Read("/nonexistent/image.dll"));
    }

    static (string Signature, uint Age, string PdbPath) ObjdumpCodeView(string image)
    {
        // Started by name, not looked up on PATH: on Windows it is objdump.exe.
        string output = ProcessRunner.RunChecked("objdump", ["-p", image]).Stdout;
        var match = CodeViewLine().Match(output);
        Assert.True(match.Success, $"objdump printed no CodeView record for {image}:\n{output}");
        return (match.Groups[1].Value, uint.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture), match.Groups[3].Value);
    }

    [GeneratedRegex(@"\(format RSDS signature ([0-9a-f]{32}) age (\d+) pdb (.*)\)\s*$", RegexOptions.Multiline)]
    private static partial Regex CodeViewLine();
}
