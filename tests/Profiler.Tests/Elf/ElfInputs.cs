namespace Profiler.Tests.Elf;

/// <summary>The files the oracle comparisons run on, by a short name usable in [InlineData].</summary>
internal static class ElfInputs
{
    public const string Libc = "libc";
    public const string StrippedPie = "ls";
    public const string Program = "program";
    public const string FixedAddressProgram = "program-no-pie";
    public const string CompressedProgram = "program-compressed";

    /// <summary>The file's path; the test fails when the file or a tool it needs is missing.</summary>
    public static string Resolve(string input, TestProgram programs, params string[] tools)
    {
        string path = input switch
        {
            Libc => SystemTools.Libc,
            StrippedPie => SystemTools.StrippedPie,
            Program => programs.Plain,
            FixedAddressProgram => programs.FixedAddress,
            CompressedProgram => programs.Compressed,
            _ => throw new ArgumentOutOfRangeException(nameof(input), input, null),
        };
        SystemTools.Require(tools, path);
        return path;
    }
}
