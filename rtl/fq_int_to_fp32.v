// int32 to IEEE binary32, rounded to nearest, ties to even (C's (float) conversion).
`default_nettype none

module fq_int_to_fp32 (
    input  wire [31:0] a,
    output reg  [31:0] f
);
  reg [31:0] mag;
  reg [4:0]  lead;
  reg [31:0] norm;   // mag shifted so that its leading one is bit 31
  reg [24:0] mant;   // 1.23 bits plus a carry bit after rounding
  reg        guard, sticky;
  reg [7:0]  e;
  integer b;
  always @(*) begin
    mag = a[31] ? 32'd0 - a : a;
    lead = 5'd0;
    for (b = 0; b < 32; b = b + 1) if (mag[b]) lead = b[4:0];
    norm = mag << (5'd31 - lead);
    guard = norm[7];
    sticky = |norm[6:0];
    mant = {1'b0, norm[31:8]};
    if (guard && (sticky || norm[8])) mant = mant + 25'd1;
    e = {3'd0, lead} + 8'd127;
    if (mant[24]) begin
      mant = mant >> 1;
      e = e + 8'd1;
    end
    f = (mag == 32'd0) ? 32'd0 : {a[31], e, mant[22:0]};
  end
endmodule

`default_nettype wire
