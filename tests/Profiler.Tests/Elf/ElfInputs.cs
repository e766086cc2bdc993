using Xunit.Abstractions;

namespace Profiler.Tests.Elf;

/// <summary>The files the oracle comparisons run on, by a short name usable in [InlineData].</summary>
internal static class ElfInputs
{
    public const string Libc = "libc";
    public const string StrippedPie = "ls";
    public const string Program = "program";
    public const string FixedAddressProgram = "program-no-pie";
    public const string CompressedProgram = "program-compressed";

    /// <summary>The file's path, or null (with the reason written to the output) when it is
    /// unavailable here or a tool the test needs is missing.</summary>
    public static string? Resolve(string input, TestProgram programs, ITestOutputHelper output, params string[] tools)
    {
        if (input is (Program or FixedAddressProgram or CompressedProgram) && !SystemTools.IsInstalled("gcc"))
        {
            output.WriteLine("SKIPPED: tool 'gcc' not available, so the test program cannot be built here.");
            return null;
        }
        string path = input switch
        {
            Libc => SystemTools.Libc,
            StrippedPie => SystemTools.StrippedPie,
            Program => programs.Plain!,
            FixedAddressProgram => programs.FixedAddress!,
            CompressedProgram => programs.Compressed!,
            _ => throw new ArgumentOutOfRangeException(nameof(input), input, null),
        };
        return SystemTools.Missing(output, tools, path) ? null : path;
    }
}
