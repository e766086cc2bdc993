using System.Globalization;
using System.Text.RegularExpressions;

namespace Profiler.Tests.Elf;

/// <summary>Parsers for the parts of `readelf` output the tests compare against.</summary>
internal static partial class Readelf
{
    public sealed record Section(int Index, string Name, string Type, ulong Address, ulong Offset, ulong Size,
        ulong EntrySize, string Flags, uint Link, uint Info, ulong Alignment);

    public sealed record Load(ulong Offset, ulong VirtualAddress, ulong FileSize, ulong MemorySize, string Flags);

    /// <summary>`readelf -S -W`. Rows are "[Nr] Name Type Address Off Size ES Flg Lk Inf Al", where
    /// the name is empty for section 0 and Flg may be empty, so columns are found from the address.</summary>
    public static List<Section> Sections(string path)
    {
        var sections = new List<Section>();
        foreach (var line in SystemTools.Lines(SystemTools.Run("readelf", "-S", "-W", path)))
        {
            var row = SectionRow().Match(line);
            if (!row.Success)
                continue;
            var fields = row.Groups[2].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int address = Array.FindIndex(fields, 1, field => field.Length == 16 && IsHex(field));
            bool hasName = address == 2;
            bool hasFlags = fields.Length - address == 8;
            sections.Add(new Section(
                Index: int.Parse(row.Groups[1].Value, CultureInfo.InvariantCulture),
                Name: hasName ? fields[0] : "",
                Type: fields[address - 1],
                Address: Hex(fields[address]),
                Offset: Hex(fields[address + 1]),
                Size: Hex(fields[address + 2]),
                EntrySize: Hex(fields[address + 3]),
                Flags: hasFlags ? fields[address + 4] : "",
                Link: uint.Parse(fields[^3], CultureInfo.InvariantCulture),
                Info: uint.Parse(fields[^2], CultureInfo.InvariantCulture),
                Alignment: ulong.Parse(fields[^1], CultureInfo.InvariantCulture)));
        }
        return sections;
    }

    /// <summary>`readelf -l -W` LOAD rows: Type Offset VirtAddr PhysAddr FileSiz MemSiz Flg Align,
    /// where Flg is spelt with spaces ("R E").</summary>
    public static List<Load> LoadSegments(string path) =>
        SystemTools.Lines(SystemTools.Run("readelf", "-l", "-W", path))
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length >= 8 && fields[0] == "LOAD")
            .Select(fields => new Load(Hex(fields[1]), Hex(fields[2]), Hex(fields[4]), Hex(fields[5]),
                string.Concat(fields[6..^1])))
            .ToList();

    public sealed record Relocation(string Section, ulong Offset, uint Type, string TypeName, ulong SymbolIndex,
        string Name, string? Version, long Addend);

    /// <summary>`readelf -r -W` rows that name a symbol: "Offset Info Type Value Name[@[@]Version] + Addend"
    /// under "Relocation section '.rela.dyn'" headers (the .relr.dyn table is not rows of this shape).</summary>
    public static List<Relocation> DynamicRelocations(string path)
    {
        var relocations = new List<Relocation>();
        string? section = null;
        foreach (var line in SystemTools.Lines(SystemTools.Run("readelf", "-r", "-W", path)))
        {
            var header = Regex.Match(line, @"^Relocation section '([^']+)'");
            if (header.Success)
                section = header.Groups[1].Value;
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (section is null || !section.StartsWith(".rela", StringComparison.Ordinal) || fields.Length != 7 ||
                fields[0].Length != 16 || !IsHex(fields[0]) || fields[5] is not ("+" or "-"))
                continue;
            ulong info = Hex(fields[1]);
            string[] name = fields[4].Split('@', StringSplitOptions.RemoveEmptyEntries);
            long addend = (long)Hex(fields[6]);
            relocations.Add(new Relocation(section, Hex(fields[0]), (uint)info, fields[2], info >> 32, name[0],
                name.Length > 1 ? name[1] : null, fields[5] == "-" ? -addend : addend));
        }
        return relocations;
    }

    public static string? BuildId(string path) =>
        SystemTools.Lines(SystemTools.Run("readelf", "-n", path))
            .Select(line => line.Trim())
            .Where(line => line.StartsWith("Build ID: ", StringComparison.Ordinal))
            .Select(line => line["Build ID: ".Length..].Trim())
            .FirstOrDefault();

    public static (string FileName, uint Crc)? DebugLink(string path)
    {
        string text = SystemTools.Run("readelf", "--debug-dump=links", "-W", path);
        // The same dump may first show .gnu_debugaltlink (the dwz file), which is not this.
        int start = text.IndexOf("Contents of the .gnu_debuglink section", StringComparison.Ordinal);
        if (start < 0)
            return null;
        text = text[start..];
        var name = Regex.Match(text, @"Separate debug info file: (\S+)");
        var crc = Regex.Match(text, @"CRC value: 0x([0-9a-f]+)");
        return name.Success && crc.Success ? (name.Groups[1].Value, (uint)Hex(crc.Groups[1].Value)) : null;
    }

    /// <summary>`readelf -S -W -t`: for each compressed section, the uncompressed size from its Chdr.</summary>
    public static Dictionary<string, ulong> CompressedSizes(string path)
    {
        var sizes = new Dictionary<string, ulong>();
        string? current = null;
        foreach (var line in SystemTools.Lines(SystemTools.Run("readelf", "-S", "-W", "-t", path)))
        {
            var header = SectionRow().Match(line);
            if (header.Success)
                current = header.Groups[2].Value.Trim();
            var compression = Regex.Match(line, @"^\s*ZLIB, ([0-9a-f]+), ");
            if (compression.Success && current is not null)
                sizes[current] = Hex(compression.Groups[1].Value);
        }
        return sizes;
    }

    public static ulong Hex(string text) =>
        ulong.Parse(text.StartsWith("0x", StringComparison.Ordinal) ? text[2..] : text, NumberStyles.HexNumber,
            CultureInfo.InvariantCulture);

    private static bool IsHex(string text) => text.All(Uri.IsHexDigit);

    [GeneratedRegex(@"^\s*\[\s*(\d+)\]\s(.*)$")]
    private static partial Regex SectionRow();
}
