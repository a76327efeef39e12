using SixLabors.ImageSharp.PixelFormats;

namespace RetailCam.Engine.Imaging;

/// <summary>A 256-entry lookup table from a value in [0,1] to an RGB colour.</summary>
public sealed class ColourMap
{
    public const int Entries = 256;

    private readonly Rgb24[] table;

    public string Name { get; }

    private ColourMap(string name, Rgb24[] table)
    {
        Name = name;
        this.table = table;
    }

    private ColourMap(string name, Func<double, (double R, double G, double B)> curve)
        : this(name, Enumerable.Range(0, Entries).Select(i =>
        {
            var (r, g, b) = curve(i / (double)(Entries - 1));
            return new Rgb24(ToByte(r), ToByte(g), ToByte(b));
        }).ToArray())
    {
    }

    private static ColourMap FromTable(string name, string hexRgb)
    {
        var bytes = Convert.FromHexString(hexRgb);
        if (bytes.Length != Entries * 3)
            throw new InvalidOperationException($"Colour table {name} has {bytes.Length} bytes, expected {Entries * 3}.");
        return new ColourMap(name, Enumerable.Range(0, Entries).Select(i => new Rgb24(bytes[3 * i], bytes[3 * i + 1], bytes[3 * i + 2])).ToArray());
    }

    public IReadOnlyList<Rgb24> Table => table;

    public Rgb24 this[int index] => table[index];

    /// <summary>Colour of a value in [0,1]; values outside are clamped, NaN maps to 0.</summary>
    public Rgb24 Map(float value) => table[Index(value)];

    public static int Index(float value) =>
        float.IsNaN(value) ? 0 : (int)MathF.Round(Math.Clamp(value, 0f, 1f) * (Entries - 1));

    /// <summary>MATLAB/matplotlib jet: the classic CAM look, kept for comparison with papers.</summary>
    public static ColourMap Jet { get; } = new("jet", t => (
        Piecewise(t, (0, 0), (0.35, 0), (0.66, 1), (0.89, 1), (1, 0.5)),
        Piecewise(t, (0, 0), (0.125, 0), (0.375, 1), (0.64, 1), (0.91, 0), (1, 0)),
        Piecewise(t, (0, 0.5), (0.11, 1), (0.34, 1), (0.65, 0), (1, 0))));

    /// <summary>
    /// Google's Turbo (Anton Mikhailov, 2019; Apache-2.0): jet's look without its false bands.
    /// The published 256-entry table, rounded to bytes (the polynomial approximation is off by
    /// up to 32 levels at the dark end, which the endpoint test caught).
    /// </summary>
    public static ColourMap Turbo { get; } = FromTable("turbo",
        "30123B32154333184A341B51351E5836215F37246638276D392A733A2D793B2F803C32863D358B3E38913F3B973F3E9C" +
        "4040A24143A74146AC4249B1424BB5434EBA4451BF4454C34456C74559CB455CCF455ED34661D64664DA4666DD4669E0" +
        "466BE3476EE64771E94773EB4776EE4778F0477BF2467DF44680F64682F84685FA4687FB458AFC458CFD448FFE4391FE" +
        "4294FF4196FF4099FF3E9BFE3D9EFE3BA0FD3AA3FC38A5FB37A8FA35ABF833ADF731AFF52FB2F42EB4F22CB7F02AB9EE" +
        "28BCEB27BEE925C0E723C3E422C5E220C7DF1FC9DD1ECBDA1CCDD81BD0D51AD2D21AD4D019D5CD18D7CA18D9C818DBC5" +
        "18DDC218DEC018E0BD19E2BB19E3B91AE4B61CE6B41DE7B21FE9AF20EAAC22EBAA25ECA727EEA42AEFA12CF09E2FF19B" +
        "32F29835F39438F4913CF58E3FF68A43F78746F8844AF8804EF97D52FA7A55FA7659FB735DFC6F61FC6C65FD6969FD66" +
        "6DFE6271FE5F75FE5C79FE597DFF5680FF5384FF5188FF4E8BFF4B8FFF4992FF4796FE4499FE429CFE409FFD3FA1FD3D" +
        "A4FC3CA7FC3AA9FB39ACFB38AFFA37B1F936B4F836B7F735B9F635BCF534BEF434C1F334C3F134C6F034C8EF34CBED34" +
        "CDEC34D0EA34D2E935D4E735D7E535D9E436DBE236DDE037DFDF37E1DD37E3DB38E5D938E7D739E9D539EBD339ECD13A" +
        "EECF3AEFCD3AF1CB3AF2C93AF4C73AF5C53AF6C33AF7C13AF8BE39F9BC39FABA39FBB838FBB637FCB336FCB136FDAE35" +
        "FDAC34FEA933FEA732FEA431FEA130FE9E2FFE9B2DFE992CFE962BFE932AFE9029FD8D27FD8A26FC8725FC8423FB8122" +
        "FB7E21FA7B1FF9781EF9751DF8721CF76F1AF66C19F56918F46617F36315F26014F15D13F05B12EF5811ED5510EC530F" +
        "EB500EEA4E0DE84B0CE7490CE5470BE4450AE2430AE14109DF3F08DD3D08DC3B07DA3907D83706D63506D43305D23105" +
        "D02F05CE2D04CC2B04CA2A04C82803C52603C32503C12302BE2102BC2002B91E02B71D02B41B01B21A01AF1801AC1701" +
        "A91601A71401A41301A112019E10019B0F01980E01950D01920B018E0A018B09028808028507028106027E05027A0403");

    /// <summary>
    /// matplotlib's viridis (van der Walt and Smith, CC0): perceptually uniform, readable in grey
    /// and by colour-blind users. The reference 256-entry table, rounded to bytes.
    /// </summary>
    public static ColourMap Viridis { get; } = FromTable("viridis",
        "44015444025645045745055946075A46085C460A5D460B5E470D60470E61471063471164471365481467481668481769" +
        "48186A481A6C481B6D481C6E481D6F481F70482071482173482374482475482576482677482878482979472A7A472C7A" +
        "472D7B472E7C472F7D46307E46327E46337F463480453581453781453882443983443A83443B84433D84433E85423F85" +
        "4240864241864142874144874045884046883F47883F48893E49893E4A893E4C8A3D4D8A3D4E8A3C4F8A3C508B3B518B" +
        "3B528B3A538B3A548C39558C39568C38588C38598C375A8C375B8D365C8D365D8D355E8D355F8D34608D34618D33628D" +
        "33638D32648E32658E31668E31678E31688E30698E306A8E2F6B8E2F6C8E2E6D8E2E6E8E2E6F8E2D708E2D718E2C718E" +
        "2C728E2C738E2B748E2B758E2A768E2A778E2A788E29798E297A8E297B8E287C8E287D8E277E8E277F8E27808E26818E" +
        "26828E26828E25838E25848E25858E24868E24878E23888E23898E238A8D228B8D228C8D228D8D218E8D218F8D21908D" +
        "21918C20928C20928C20938C1F948C1F958B1F968B1F978B1F988B1F998A1F9A8A1E9B8A1E9C891E9D891F9E891F9F88" +
        "1FA0881FA1881FA1871FA28720A38620A48621A58521A68522A78522A88423A98324AA8325AB8225AC8226AD8127AD81" +
        "28AE8029AF7F2AB07F2CB17E2DB27D2EB37C2FB47C31B57B32B67A34B67935B77937B87838B9773ABA763BBB753DBC74" +
        "3FBC7340BD7242BE7144BF7046C06F48C16E4AC16D4CC26C4EC36B50C46A52C56954C56856C66758C7655AC8645CC863" +
        "5EC96260CA6063CB5F65CB5E67CC5C69CD5B6CCD5A6ECE5870CF5773D05675D05477D1537AD1517CD2507FD34E81D34D" +
        "84D44B86D54989D5488BD6468ED64590D74393D74195D84098D83E9BD93C9DD93BA0DA39A2DA37A5DB36A8DB34AADC32" +
        "ADDC30B0DD2FB2DD2DB5DE2BB8DE29BADE28BDDF26C0DF25C2DF23C5E021C8E020CAE11FCDE11DD0E11CD2E21BD5E21A" +
        "D8E219DAE319DDE318DFE318E2E418E5E419E7E419EAE51AECE51BEFE51CF1E51DF4E61EF6E620F8E621FBE723FDE725");

    public static IReadOnlyList<ColourMap> All { get; } = [Jet, Turbo, Viridis];

    /// <summary>Looks a map up by name (case-insensitive): jet, turbo, viridis.</summary>
    public static ColourMap FromName(string name) =>
        All.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"Unknown colour map '{name}'; use one of {string.Join(", ", All.Select(m => m.Name))}.", nameof(name));

    public override string ToString() => Name;

    private static byte ToByte(double unit) => (byte)Math.Round(Math.Clamp(unit, 0, 1) * 255);

    private static double Piecewise(double t, params (double At, double Value)[] knots)
    {
        for (var i = 1; i < knots.Length; i++)
        {
            if (t <= knots[i].At)
            {
                var (a, va) = knots[i - 1];
                var (b, vb) = knots[i];
                return va + (vb - va) * (t - a) / (b - a);
            }
        }
        return knots[^1].Value;
    }
}
