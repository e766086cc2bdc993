using System.IO.Compression;
using System.Text;

namespace Profiler.Firefox;

public sealed partial class ProfileBuilder
{
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        WriteTo(buffer);
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>Writes the profile as JSON, gzip-compressed if asked (the profiler opens both); leaves the stream open.</summary>
    public void WriteTo(Stream stream, bool gzip = false)
    {
        if (!gzip)
        {
            ProfileJsonWriter.Write(_tables, stream);
            return;
        }
        // Fastest: exports can run to hundreds of megabytes, and columns of small numbers
        // compress well even at the lowest level.
        using var compressed = new GZipStream(stream, CompressionLevel.Fastest, leaveOpen: true);
        ProfileJsonWriter.Write(_tables, compressed);
    }
}
