namespace RetailCam.Tests.Imaging;

/// <summary>
/// A minimal baseline JPEG encoder for one uniform 8×8 CMYK block, with the Adobe APP14 marker
/// (transform 0) print workflows write. Samples are stored the Adobe way, inverted (255 = no ink),
/// so decoders compute R = C·K/255 and so on. A uniform block has only a DC coefficient,
/// DC = 8·(sample − 128) with a quantisation table of ones, which keeps the encoder tiny.
/// </summary>
internal static class CmykJpeg
{
    public static byte[] Uniform8x8(byte cyan, byte magenta, byte yellow, byte black)
    {
        using var output = new MemoryStream();
        output.Write([0xFF, 0xD8]);
        Segment(output, 0xEE, [.. "Adobe"u8, 0, 100, 0, 0, 0, 0, 0]);
        Segment(output, 0xDB, [0, .. Enumerable.Repeat((byte)1, 64)]);
        Segment(output, 0xC0, [8, 0, 8, 0, 8, 4, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0, 4, 0x11, 0]);
        // DC table 0: categories 0–11, all with 4-bit codes 0000–1011.
        Segment(output, 0xC4, [0x00, 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        // AC table 0: only end-of-block, code 00.
        Segment(output, 0xC4, [0x10, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00]);
        Segment(output, 0xDA, [4, 1, 0x00, 2, 0x00, 3, 0x00, 4, 0x00, 0, 63, 0]);

        var bits = new BitWriter(output);
        foreach (var sample in new[] { cyan, magenta, yellow, black })
        {
            var dc = 8 * (sample - 128);
            var category = dc == 0 ? 0 : 32 - int.LeadingZeroCount(Math.Abs(dc));
            bits.Write(category, 4);
            if (category > 0)
                bits.Write(dc > 0 ? dc : dc - 1 + (1 << category), category);
            bits.Write(0b00, 2); // end of block
        }
        bits.Flush();
        output.Write([0xFF, 0xD9]);
        return output.ToArray();
    }

    private static void Segment(Stream output, byte marker, byte[] payload)
    {
        output.Write([0xFF, marker, (byte)((payload.Length + 2) >> 8), (byte)(payload.Length + 2)]);
        output.Write(payload);
    }

    private sealed class BitWriter(Stream output)
    {
        private int buffer;
        private int count;

        public void Write(int value, int length)
        {
            for (var i = length - 1; i >= 0; i--)
            {
                buffer = (buffer << 1) | ((value >> i) & 1);
                if (++count == 8)
                    Emit();
            }
        }

        public void Flush()
        {
            while (count != 0)
                Write(1, 1);
        }

        private void Emit()
        {
            output.WriteByte((byte)buffer);
            if (buffer == 0xFF)
                output.WriteByte(0); // byte stuffing
            buffer = 0;
            count = 0;
        }
    }
}
