// IEEE binary32 multiply, rounded to nearest, ties to even, for the epilogue's finite operands:
// zero and subnormal inputs count as zero, results below the normal range flush to zero and
// results above it become infinity (neither occurs for real weight and activation scales).
`default_nettype none

module fq_fp32_mul (
    input  wire [31:0] a,
    input  wire [31:0] b,
    output reg  [31:0] p
);
  wire        sign = a[31] ^ b[31];
  wire [47:0] prod = {1'b1, a[22:0]} * {1'b1, b[22:0]};
  reg  [24:0] mant;
  reg         guard, sticky;
  reg  [9:0]  e;  // signed, biased exponent of the result
  always @(*) begin
    if (prod[47]) begin
      mant = {1'b0, prod[47:24]};
      guard = prod[23];
      sticky = |prod[22:0];
      e = {2'd0, a[30:23]} + {2'd0, b[30:23]} - 10'd126;
    end else begin
      mant = {1'b0, prod[46:23]};
      guard = prod[22];
      sticky = |prod[21:0];
      e = {2'd0, a[30:23]} + {2'd0, b[30:23]} - 10'd127;
    end
    if (guard && (sticky || mant[0])) mant = mant + 25'd1;
    if (mant[24]) begin
      mant = mant >> 1;
      e = e + 10'd1;
    end
    if (a[30:23] == 8'd0 || b[30:23] == 8'd0 || e[9] || e == 10'd0) p = {sign, 31'd0};
    else if (e >= 10'd255) p = {sign, 8'hff, 23'd0};
    else p = {sign, e[7:0], mant[22:0]};
  end
endmodule

`default_nettype wire
