// IEEE binary16 to binary32, exact (every half value is a float), subnormals included.
`default_nettype none

module fq_fp16_to_fp32 (
    input  wire [15:0] h,
    output reg  [31:0] f
);
  reg [4:0] lead;  // position of the leading one of a subnormal's mantissa
  reg [9:0] m;
  integer b;
  always @(*) begin
    lead = 5'd0;
    for (b = 0; b < 10; b = b + 1) if (h[b]) lead = b[4:0];
    m = h[9:0] << (5'd10 - lead);
    if (h[14:10] == 5'd31) f = {h[15], 8'hff, h[9:0], 13'd0};
    else if (h[14:10] != 5'd0) f = {h[15], {3'd0, h[14:10]} + 8'd112, h[9:0], 13'd0};
    else if (h[9:0] == 10'd0) f = {h[15], 31'd0};
    else f = {h[15], {3'd0, lead} + 8'd103, m, 13'd0};
  end
endmodule

`default_nettype wire
