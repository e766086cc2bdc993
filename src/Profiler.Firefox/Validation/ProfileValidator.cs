using System.IO.Compression;
using System.Text.Json;

namespace Profiler.Firefox;

/// <summary>
/// Structural checks of a processed-format (v70) profile. The Firefox Profiler does not check
/// processed profiles on load; its mistakes surface as blank panels or an error screen. Beyond
/// the format, a Memory track must count a call wherever its bytes change (its tooltip would
/// say "0 allocations and deallocations"), and <see cref="ValidationRules"/> can ask for more.
/// </summary>
public static class ProfileValidator
{
    public static IReadOnlyList<string> Validate(JsonDocument profile, ValidationRules? rules = null) =>
        new ProfileChecker(profile.RootElement, rules ?? new ValidationRules()).Run();

    /// <summary>Validates JSON, or gzip-compressed JSON, read from <paramref name="profile"/>; leaves the stream open.</summary>
    public static IReadOnlyList<string> Validate(Stream profile, ValidationRules? rules = null)
    {
        if (!profile.CanSeek)
        {
            // Telling gzip from JSON needs a look at the first bytes and a way back.
            using var copy = new MemoryStream();
            profile.CopyTo(copy);
            copy.Position = 0;
            return Validate(copy, rules);
        }
        if (!StartsWithGzipMagic(profile)) return Parse(profile, rules);
        using var json = new GZipStream(profile, CompressionMode.Decompress, leaveOpen: true);
        return Parse(json, rules);
    }

    static bool StartsWithGzipMagic(Stream profile)
    {
        var start = profile.Position;
        Span<byte> magic = stackalloc byte[2];
        var read = profile.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false);
        profile.Position = start;
        return read == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    }

    static IReadOnlyList<string> Parse(Stream json, ValidationRules? rules)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return Validate(document, rules);
        }
        catch (Exception error) when (error is JsonException or InvalidDataException)
        {
            return [$"not a JSON profile: {error.Message}"];
        }
    }
}
