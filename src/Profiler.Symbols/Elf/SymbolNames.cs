namespace Profiler.Symbols.Elf;

/// <summary>Rules for the names of function symbols, on their UTF-8 bytes: which of several names
/// for one address to show, and how versioned names ("malloc@@GLIBC_2.2.5") relate to plain ones.</summary>
internal static class SymbolNames
{
    private static ReadOnlySpan<byte> DefaultVersionMark => "@@"u8;
    private const byte VersionMark = (byte)'@';

    /// <summary>Orders aliases best first: global before weak before local, then a name without
    /// a version before a versioned or non-default one, then the shorter name (the public
    /// "malloc" over the internal "__libc_malloc"), then byte order so the choice is stable.</summary>
    public static int CompareAliases(in FunctionEntry left, in FunctionEntry right, byte[] names)
    {
        int order = BindingRank(left.Binding).CompareTo(BindingRank(right.Binding));
        if (order == 0)
            order = IsVersioned(left, names).CompareTo(IsVersioned(right, names));
        if (order == 0)
            order = left.NameLength.CompareTo(right.NameLength);
        if (order == 0)
            order = left.Name(names).SequenceCompareTo(right.Name(names));
        return order;
    }

    /// <summary>How much of a name is shown: a default version ("@@") says nothing beyond the name
    /// and is dropped; a non-default one ("@") is kept, since it marks a compatibility copy.</summary>
    public static int DisplayLength(ReadOnlySpan<byte> name)
    {
        int mark = name.IndexOf(DefaultVersionMark);
        return mark > 0 ? mark : name.Length;
    }

    /// <summary>A version that a program linking today would not bind to.</summary>
    public static bool IsNonDefaultVersion(in FunctionEntry entry, byte[] names)
    {
        var name = entry.Name(names);
        return entry.IsHiddenVersion || (name.Contains(VersionMark) && name.IndexOf(DefaultVersionMark) < 0);
    }

    /// <summary>Whether <paramref name="wanted"/> names this symbol: exactly, without the
    /// symbol's version suffix, or with its .gnu.version version spelt out ("free@@GLIBC_2.2.5").</summary>
    public static bool Matches(ReadOnlySpan<byte> wanted, in FunctionEntry entry, byte[] names)
    {
        var name = entry.Name(names);
        if (wanted.SequenceEqual(name))
            return true;
        int mark = name.IndexOf(VersionMark);
        if (mark > 0 && wanted.SequenceEqual(name[..mark]))
            return true;
        if (!entry.HasVersion || !wanted.StartsWith(name))
            return false;
        var suffix = wanted[name.Length..];
        ReadOnlySpan<byte> separator = entry.IsHiddenVersion ? "@"u8 : DefaultVersionMark;
        return suffix.StartsWith(separator) && suffix[separator.Length..].SequenceEqual(entry.Version(names));
    }

    public static int BindingRank(ElfSymbolBinding binding) => binding switch
    {
        ElfSymbolBinding.Global or ElfSymbolBinding.Unique => 0,
        ElfSymbolBinding.Weak => 1,
        ElfSymbolBinding.Local => 2,
        _ => 3,
    };

    private static bool IsVersioned(in FunctionEntry entry, byte[] names) =>
        entry.IsHiddenVersion || entry.Name(names).Contains(VersionMark);
}
