// DMA from obuf to DRAM (docs/isa.md "dma.store"): one chunk of up to DB bytes of one row per
// cycle on the DRAM write channel, stores in issue order; a store finishes `lat` cycles after its
// last chunk, when the DRAM acknowledges the write (docs/architecture.md "DMA and DRAM").
`default_nettype none

module fq_dma_out #(
    parameter DB     = 16,  // data port bytes
    parameter QDEPTH = 16
) (
    input  wire          clk,
    input  wire          rst,
    input  wire [31:0]   db,        // DRAM bytes per cycle, 1 .. DB (held from reset on)
    input  wire [31:0]   lat,       // DRAM write acknowledgement latency in cycles (held)
    input  wire          start,
    input  wire [31:0]   src,
    input  wire [31:0]   src_stride,
    input  wire [63:0]   dst,
    input  wire [31:0]   dst_stride,
    input  wire [31:0]   rows,
    input  wire [31:0]   bytes,
    output wire          full,
    output wire [31:0]   ob_raddr,
    input  wire [8*DB-1:0] ob_rdata,
    output wire          wr_valid,
    output wire [63:0]   wr_addr,
    output wire [8*DB-1:0] wr_data,
    output wire [31:0]   wr_len,
    output wire          finish
);
  localparam QB = $clog2(QDEPTH);
  reg [31:0] q_src    [0:QDEPTH-1];
  reg [31:0] q_sstr   [0:QDEPTH-1];
  reg [63:0] q_dst    [0:QDEPTH-1];
  reg [31:0] q_dstr   [0:QDEPTH-1];
  reg [31:0] q_rows   [0:QDEPTH-1];
  reg [31:0] q_bytes  [0:QDEPTH-1];
  reg [QB-1:0] rd, wr;
  reg [QB:0]   count;
  reg [31:0]   row, off;

  wire        empty   = count == 0;
  wire        moving  = !empty || start;
  wire [31:0] h_src   = empty ? src : q_src[rd];
  wire [31:0] h_sstr  = empty ? src_stride : q_sstr[rd];
  wire [63:0] h_dst   = empty ? dst : q_dst[rd];
  wire [31:0] h_dstr  = empty ? dst_stride : q_dstr[rd];
  wire [31:0] h_rows  = empty ? rows : q_rows[rd];
  wire [31:0] h_bytes = empty ? bytes : q_bytes[rd];
  wire [31:0] left    = h_bytes - off;
  wire [31:0] len     = left < db ? left : db;
  wire        row_end = moving && (off + len == h_bytes);
  wire        op_end  = row_end && (row + 32'd1 == h_rows);

  assign full     = count == QDEPTH;
  assign ob_raddr = h_src + row * h_sstr + off;
  assign wr_valid = moving;
  assign wr_addr  = h_dst + {32'd0, row} * {32'd0, h_dstr} + {32'd0, off};
  assign wr_data  = ob_rdata;
  assign wr_len   = len;

  // Acknowledgements: the cycle counts at which stores finish, in order.
  reg [31:0] now;
  reg [31:0] ack_at [0:QDEPTH-1];
  reg [QB-1:0] a_rd, a_wr;
  reg [QB:0]   a_count;
  wire ack_now = (lat == 32'd0) ? op_end : (a_count != 0 && ack_at[a_rd] == now);
  assign finish = ack_now;

  always @(posedge clk) begin
    if (start) begin
      q_src[wr] <= src;
      q_sstr[wr] <= src_stride;
      q_dst[wr] <= dst;
      q_dstr[wr] <= dst_stride;
      q_rows[wr] <= rows;
      q_bytes[wr] <= bytes;
    end
    if (lat != 32'd0 && op_end) ack_at[a_wr] <= now + lat;
    if (rst) begin
      rd <= {QB{1'b0}};
      wr <= {QB{1'b0}};
      count <= {(QB + 1){1'b0}};
      row <= 32'd0;
      off <= 32'd0;
      now <= 32'd0;
      a_rd <= {QB{1'b0}};
      a_wr <= {QB{1'b0}};
      a_count <= {(QB + 1){1'b0}};
    end else begin
      now <= now + 32'd1;
      if (start) wr <= wr + 1'b1;
      if (op_end) rd <= rd + 1'b1;
      count <= count + {{QB{1'b0}}, start} - {{QB{1'b0}}, op_end};
      if (moving) begin
        off <= row_end ? 32'd0 : off + len;
        row <= op_end ? 32'd0 : row_end ? row + 32'd1 : row;
      end
      if (lat != 32'd0) begin
        if (op_end) a_wr <= a_wr + 1'b1;
        if (ack_now) a_rd <= a_rd + 1'b1;
        a_count <= a_count + {{QB{1'b0}}, op_end} - {{QB{1'b0}}, ack_now};
      end
    end
  end
endmodule

`default_nettype wire
