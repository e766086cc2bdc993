using System.Globalization;
using System.Reflection.PortableExecutable;

namespace Profiler.Symbols.Pe;

/// <summary>The PDB a PE image was linked with, from its CodeView (RSDS) debug record.</summary>
public sealed record PdbSignature(Guid Guid, uint Age, string PdbPath)
{
    public string BuildId => PeBuildId.Format(Guid, Age);
}

/// <summary>
/// A module's build id for PE images: the PDB GUID as 32 lowercase hex digits in its text order
/// (as <c>objdump -p</c> prints the "signature"), followed by the PDB age in lowercase hex
/// without padding. Upper-cased, that is the id symbol servers and Breakpad index the PDB by.
/// </summary>
public static class PeBuildId
{
    public static string Format(Guid guid, uint age) =>
        guid.ToString("N", CultureInfo.InvariantCulture) + age.ToString("x", CultureInfo.InvariantCulture);

    public static bool TryParse(string buildId, out Guid guid, out uint age)
    {
        age = 0;
        if (buildId.Length is < 33 or > 40 || !Guid.TryParseExact(buildId.AsSpan(0, 32), "N", out guid))
        {
            guid = Guid.Empty;
            return false;
        }
        return uint.TryParse(buildId.AsSpan(32), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out age);
    }

    /// <summary>Reads the PDB signature of a PE file, or null when it has none or is not a PE file.</summary>
    public static PdbSignature? Read(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            using var pe = new PEReader(stream);
            foreach (var entry in pe.ReadDebugDirectory())
            {
                if (entry.Type != DebugDirectoryEntryType.CodeView) continue;
                var cv = pe.ReadCodeViewDebugDirectoryData(entry);
                return new PdbSignature(cv.Guid, (uint)cv.Age, cv.Path);
            }
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or BadImageFormatException or InvalidOperationException)
        {
            return null;
        }
    }
}
