using System.Buffers.Binary;
using System.Text;

namespace RetailCam.Engine.Native;

/// <summary>
/// Marks one symbol-version requirement of an ELF64 shared library as weak (VER_FLG_WEAK), so the
/// dynamic loader accepts a system library that lacks that version.
/// </summary>
/// <remarks>
/// libLibTorchSharp.so 0.107.0 was linked with GCC 13 and asks for GLIBCXX_3.4.32 only for
/// <c>std::ios_base_library_init()</c>, an anchor symbol with no relocation against it. Debian 12's
/// libstdc++ (GCC 12) lacks that version, so the library refuses to load although nothing in it
/// needs the symbol. Setting the weak flag on that one Vernaux entry is the smallest change that
/// lets it load; no other byte of the file changes.
/// </remarks>
public static class ElfVersionNeedPatcher
{
    public const string LibStdCxxVersion = "GLIBCXX_3.4.32";
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlagWeak = 0x2;

    public enum Outcome
    {
        /// <summary>The flag was set by this call.</summary>
        Patched,
        /// <summary>The flag was already set; nothing written.</summary>
        AlreadyPatched,
        /// <summary>The library does not ask for that version at all.</summary>
        NotRequired,
    }

    /// <summary>Finds the Vernaux entry naming <paramref name="versionName"/>; returns the file offset of its vna_flags, or -1.</summary>
    public static long FindVersionNeedFlagsOffset(ReadOnlySpan<byte> elf, string versionName)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("Not an ELF file.");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("Only little-endian ELF64 files are supported.");

        var sectionHeaders = checked((long)BinaryPrimitives.ReadUInt64LittleEndian(elf[0x28..]));
        int entrySize = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x3A..]);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x3C..]);
        var wanted = Encoding.ASCII.GetBytes(versionName);

        for (var i = 0; i < count; i++)
        {
            var header = elf.Slice(checked((int)(sectionHeaders + (long)i * entrySize)), 64);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header[4..]) != ShtGnuVerneed) continue;

            var verneedOffset = checked((long)BinaryPrimitives.ReadUInt64LittleEndian(header[24..]));
            var stringTableIndex = BinaryPrimitives.ReadUInt32LittleEndian(header[40..]);
            var verneedCount = BinaryPrimitives.ReadUInt32LittleEndian(header[44..]);
            var stringTableHeader = elf.Slice(checked((int)(sectionHeaders + stringTableIndex * entrySize)), 64);
            var strings = checked((long)BinaryPrimitives.ReadUInt64LittleEndian(stringTableHeader[24..]));

            var need = verneedOffset;
            for (var n = 0; n < verneedCount; n++)
            {
                var verneed = elf.Slice(checked((int)need), 16);
                int auxCount = BinaryPrimitives.ReadUInt16LittleEndian(verneed[2..]);
                var aux = need + BinaryPrimitives.ReadUInt32LittleEndian(verneed[8..]);
                for (var a = 0; a < auxCount; a++)
                {
                    var vernaux = elf.Slice(checked((int)aux), 16);
                    var name = strings + BinaryPrimitives.ReadUInt32LittleEndian(vernaux[8..]);
                    if (NameEquals(elf, name, wanted)) return aux + 4;
                    var nextAux = BinaryPrimitives.ReadUInt32LittleEndian(vernaux[12..]);
                    if (nextAux == 0) break;
                    aux += nextAux;
                }
                var nextNeed = BinaryPrimitives.ReadUInt32LittleEndian(verneed[12..]);
                if (nextNeed == 0) break;
                need += nextNeed;
            }
        }
        return -1;
    }

    /// <summary>Sets the weak flag in memory; the caller decides how to write the bytes back.</summary>
    public static Outcome Patch(Span<byte> elf, string versionName = LibStdCxxVersion)
    {
        var offset = FindVersionNeedFlagsOffset(elf, versionName);
        if (offset < 0) return Outcome.NotRequired;
        var flags = BinaryPrimitives.ReadUInt16LittleEndian(elf[(int)offset..]);
        if ((flags & VerFlagWeak) != 0) return Outcome.AlreadyPatched;
        BinaryPrimitives.WriteUInt16LittleEndian(elf[(int)offset..], (ushort)(flags | VerFlagWeak));
        return Outcome.Patched;
    }

    /// <summary>
    /// Patches a file on disk. The new content goes to a temporary file that replaces the original
    /// by rename, so a process that has the old file mapped keeps a consistent copy.
    /// </summary>
    public static Outcome PatchFile(string path, string versionName = LibStdCxxVersion)
    {
        var bytes = File.ReadAllBytes(path);
        var outcome = Patch(bytes, versionName);
        if (outcome != Outcome.Patched) return outcome;

        var temporary = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            File.WriteAllBytes(temporary, bytes);
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(temporary, File.GetUnixFileMode(path));
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
        return outcome;
    }

    private static bool NameEquals(ReadOnlySpan<byte> elf, long offset, byte[] wanted)
    {
        if (offset + wanted.Length + 1 > elf.Length) return false;
        return elf.Slice((int)offset, wanted.Length).SequenceEqual(wanted) && elf[(int)offset + wanted.Length] == 0;
    }
}
