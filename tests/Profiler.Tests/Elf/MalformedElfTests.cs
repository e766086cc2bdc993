using Profiler.Symbols.Elf;
using Xunit.Abstractions;

namespace Profiler.Tests.Elf;

/// <summary>Files that are not readable 64-bit little-endian ELF fail with one clear message.</summary>
public sealed class MalformedElfTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("elf-malformed-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Text_file_is_not_an_elf_file()
    {
        string path = Write("notes.txt", "just some text, certainly not ELF\n"u8.ToArray());

        var error = Assert.Throws<ElfFormatException>(() => ElfFile.Open(path));
        Assert.Equal($"{path} is not an ELF file (it does not start with the ELF magic bytes)", error.Message);
    }

    [Fact]
    public void Empty_file_is_not_an_elf_file()
    {
        string path = Write("empty", []);

        var error = Assert.Throws<ElfFormatException>(() => ElfFile.Open(path));
        Assert.Equal($"{path} is empty, not an ELF file", error.Message);
    }

    [Fact]
    public void Directory_is_not_an_elf_file()
    {
        var error = Assert.Throws<ElfFormatException>(() => ElfFile.Open(_directory));
        Assert.Equal($"{_directory} is a directory, not an ELF file", error.Message);
    }

    [Theory]
    [InlineData(10)]
    [InlineData(40)]
    [InlineData(100)]
    [InlineData(50_000)]
    [InlineData(-1)]
    public void Truncated_elf_file_says_it_is_truncated(int keep)
    {
        SystemTools.Require([], SystemTools.StrippedPie);
        var whole = File.ReadAllBytes(SystemTools.StrippedPie);
        string path = Write("truncated", whole[..(keep < 0 ? whole.Length + keep : keep)]);

        var error = Assert.Throws<ElfFormatException>(() => ElfFile.Open(path));
        output.WriteLine(error.Message);
        Assert.StartsWith($"{path} is truncated or corrupt: ", error.Message);
        Assert.Contains("extends past the end of the file", error.Message);
    }

    [Theory]
    [InlineData(4, 1, "is a 32-bit ELF file; only 64-bit ELF files are supported")]
    [InlineData(5, 2, "is a big-endian ELF file; only little-endian ELF files are supported")]
    [InlineData(4, 9, "is corrupt: unknown ELF class 9")]
    public void Unsupported_elf_variant_is_named(int identByte, byte value, string message)
    {
        SystemTools.Require([], SystemTools.StrippedPie);
        var bytes = File.ReadAllBytes(SystemTools.StrippedPie);
        bytes[identByte] = value;
        string path = Write("variant", bytes);

        var error = Assert.Throws<ElfFormatException>(() => ElfFile.Open(path));
        Assert.Equal($"{path} {message}", error.Message);
    }

    [Fact]
    public void TryOpen_reports_failures_as_an_error_message()
    {
        string text = Write("text", "hello"u8.ToArray());
        string missing = Path.Combine(_directory, "missing");

        Assert.False(ElfFile.TryOpen(text, out var notElf, out var notElfError));
        Assert.Null(notElf);
        Assert.Contains("is not an ELF file", notElfError);
        Assert.False(ElfFile.TryOpen(missing, out _, out var missingError));
        Assert.StartsWith(missing, missingError);
    }

    [Fact]
    public void TryOpen_opens_a_real_library()
    {
        SystemTools.Require([], SystemTools.Libc);

        Assert.True(ElfFile.TryOpen(SystemTools.Libc, out var elf, out var error));
        using (elf)
        {
            Assert.Null(error);
            Assert.NotEmpty(elf.Sections);
        }
    }

    [Fact]
    public void Disposed_file_refuses_further_reads()
    {
        SystemTools.Require([], SystemTools.Libc);
        var elf = ElfFile.Open(SystemTools.Libc);
        elf.Dispose();

        Assert.Throws<ObjectDisposedException>(() => elf.ReadSymbols().First());
    }

    [Fact]
    public void Section_of_another_file_is_rejected()
    {
        SystemTools.Require([], SystemTools.Libc, SystemTools.StrippedPie);
        using var libc = ElfFile.Open(SystemTools.Libc);
        using var ls = ElfFile.Open(SystemTools.StrippedPie);

        Assert.Throws<ArgumentException>(() => libc.ReadSection(ls.FindSection(".text")!).Length);
    }

    private string Write(string name, byte[] contents)
    {
        string path = Path.Combine(_directory, name);
        File.WriteAllBytes(path, contents);
        return path;
    }
}
