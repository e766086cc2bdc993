namespace Profiler.Symbols.Elf;

/// <summary>A defined function symbol as <see cref="SymbolTable"/> keeps it: plain numbers, with
/// its name and version as ranges of one shared UTF-8 buffer instead of separate strings.</summary>
internal readonly record struct FunctionEntry(
    ulong Value,
    ulong Size,
    uint SectionIndex,
    ElfSymbolBinding Binding,
    int NameOffset,
    int NameLength,
    int VersionOffset,
    int VersionLength,
    bool IsHiddenVersion)
{
    public const int NoVersion = -1;

    public bool HasVersion => VersionOffset != NoVersion;

    public ReadOnlySpan<byte> Name(byte[] names) => names.AsSpan(NameOffset, NameLength);

    public ReadOnlySpan<byte> Version(byte[] names) =>
        HasVersion ? names.AsSpan(VersionOffset, VersionLength) : [];
}
