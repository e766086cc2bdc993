namespace Profiler.Symbols.Resolution;

/// <summary>The CRC-32 (IEEE 802.3, as zlib computes it) that .gnu_debuglink records for the
/// separate debug file, computed over a whole file.</summary>
internal static class DebugLinkCrc
{
    private static readonly uint[] Table = BuildTable();

    public static uint OfFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete,
            bufferSize: 1, FileOptions.SequentialScan);
        var buffer = new byte[1 << 20];
        uint crc = 0xffff_ffff;
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
            crc = Update(crc, buffer.AsSpan(0, read));
        return ~crc;
    }

    public static uint Of(ReadOnlySpan<byte> data) => ~Update(0xffff_ffff, data);

    private static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        var table = Table;
        foreach (byte b in data)
            crc = table[(crc ^ b) & 0xff] ^ (crc >> 8);
        return crc;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
                c = (c & 1) != 0 ? 0xedb8_8320 ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }
}
